from __future__ import annotations

from typing import Any

PERSON = {"name": "王小明", "phone": "13800138000", "address": "杭州市西湖区文三路1号"}


def complaint_body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "complaint",
        "category": "质量问题",
        "description": "电热水壶使用一周后底座漏电，要求退货。",
        "complainant": PERSON,
    } | overrides
