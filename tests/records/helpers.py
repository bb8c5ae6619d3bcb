"""Valid request bodies for the four record kinds."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from app.core.clock import today


def days_ago(n: int) -> str:
    """`n` days before today (the app's clock, read at each call: a run may cross midnight)."""
    return (today() - dt.timedelta(days=n)).isoformat()


def grade(**overrides: Any) -> dict[str, Any]:
    return {
        "grade": "AA",
        "assessed_on": days_ago(30),
        "valid_until": (today() + dt.timedelta(days=300)).isoformat(),
        "authority": "浙江省市场监督管理局",
        "basis": "GB/T 31870-2015 评价",
    } | overrides


def violation(**overrides: Any) -> dict[str, Any]:
    return {
        "case_no": f"杭市监罚〔2026〕{uuid.uuid4().hex[:6]}号",
        "authority": "杭州市市场监督管理局",
        "decided_on": days_ago(20),
        "category": "产品质量不合格",
        "severity": "general",
        "description": "内部案情：抽检发现（内部）",
        "public_summary": "生产不合格电热水壶，责令改正并罚款",
        "penalty_amount": "12000.50",
    } | overrides


def inspection(**overrides: Any) -> dict[str, Any]:
    return {
        "report_no": f"JD-{uuid.uuid4().hex[:8]}",
        "authority": "国家市场监督管理总局",
        "inspected_on": days_ago(40),
        "product_name": "电热水壶",
        "gtin": "6901234567892",
        "lot": "L2026-01",
        "standard": "GB 4706.19-2008",
        "result": "fail",
        "failed_items": ["泄漏电流"],
    } | overrides


def recall(**overrides: Any) -> dict[str, Any]:
    return {
        "recall_no": f"RC-{uuid.uuid4().hex[:8]}",
        "product_name": "儿童滑板车",
        "gtin": "6901234567892",
        "lots": ["L2026-01"],
        "initiated_on": days_ago(10),
        "kind": "voluntary",
        "hazard_class": 2,
        "units": 1200,
        "remedy": "免费更换刹车组件",
    } | overrides


BODIES = {"grades": grade, "violations": violation, "inspections": inspection, "recalls": recall}
