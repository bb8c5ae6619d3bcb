"""Valid request bodies of the operations that take JSON, keyed by "METHOD /path"
(the OpenAPI template), for tests that start from a body the service accepts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from app.codes.described import LEVELS
from app.core.clock import today
from app.identifiers.gtin import make_gtin
from tests.security.dataset import Dataset


def days(n: int) -> str:
    return (today() + dt.timedelta(days=n)).isoformat()


def unique() -> str:
    return uuid.uuid4().hex[:10]


# --- valid bodies, one per operation that takes JSON ---------------------------------

RESOLVER_PATHS = [path for _, path, _ in LEVELS]
BodyFactory = Callable[[Dataset], dict[str, Any]]


def _product(d: Dataset) -> dict[str, Any]:
    return {
        "gtin": make_gtin("69" + str(uuid.uuid4().int)[:10]),
        "uscc": d.a.uscc,
        "name": "饼干",
        "model": "500g",
        "execution_standard": "GB 7100-2015",
        "factory_name": "工厂",
        "factory_address": "北京市海淀区1号",
    }


def _measure() -> dict[str, Any]:
    return {
        "matter": "政府采购",
        "target_list": "black",
        "measure": "依法限制参与政府采购活动",
        "department": "财政部门",
        "legal_basis": "《政府采购法》第二十二条",
    }


VALID_BODIES: dict[str, BodyFactory] = {
    "PUT /v1/organizations/{code}": lambda d: {
        "name": "安全测试甲食品有限公司",
        "address": "北京市海淀区中关村1号",
        "legal_representative": "法人秘密甲",
        "industry_code": "C14",
        "status": "active",
    },
    "POST /v1/organizations/{code}/grades": lambda d: {
        "grade": "A",
        "assessed_on": days(-10),
        "valid_until": days(300),
        "authority": "北京市市场监督管理局",
        "basis": "年度评价",
    },
    "POST /v1/organizations/{code}/violations": lambda d: {
        "case_no": f"京罚{unique()}",
        "authority": "北京市市场监督管理局",
        "decided_on": days(-20),
        "category": "产品质量",
        "severity": "minor",
        "description": "内部",
        "public_summary": "公开摘要",
        "penalty_amount": "100.00",
        "rectified_on": days(-10),
    },
    "POST /v1/organizations/{code}/inspections": lambda d: {
        "report_no": f"JD-{unique()}",
        "authority": "总局",
        "inspected_on": days(-5),
        "product_name": "饼干",
        "gtin": "6901234567892",
        "lot": "L9",
        "standard": "GB 7100-2015",
        "result": "fail",
        "failed_items": ["菌落总数"],
        "rectified_on": days(-1),
    },
    "POST /v1/organizations/{code}/recalls": lambda d: {
        "recall_no": f"RC-{unique()}",
        "product_name": "饼干",
        "gtin": "6901234567892",
        "lots": ["L9"],
        "initiated_on": days(-3),
        "kind": "voluntary",
        "hazard_class": 3,
        "units": 10,
        "remedy": "退货",
        "status": "ongoing",
    },
    "PATCH /v1/violations/{id}": lambda d: {
        "category": "产品质量",
        "public_summary": "更正后的摘要",
        "description": "内部更正",
        "penalty_amount": "200.00",
    },
    "PATCH /v1/inspections/{id}": lambda d: {
        "product_name": "饼干",
        "standard": "GB 7100-2015",
        "failed_items": ["菌落总数"],
    },
    "PATCH /v1/recalls/{id}": lambda d: {
        "status": "ongoing",
        "units": 20,
        "remedy": "退货",
        "lots": ["L9"],
        "hazard_class": 3,
    },
    "POST /v1/credit/batch": lambda d: {"codes": [d.a.uscc, d.b.uscc], "as_of": days(-1)},
    "POST /v1/objections": lambda d: {
        "record_type": "violation",
        "record_id": d.a.violation_id,
        "grounds": "处罚认定有误",
    },
    "POST /v1/organizations/{code}/repairs": lambda d: {
        "violation_id": d.a.violation_id,
        "reason": "已整改",
    },
    "POST /v1/repairs/{id}/decision": lambda d: {"decision": "rejected", "reason": "材料不全"},
    "POST /v1/lists/{kind}/publications": lambda d: {"as_of": days(-1), "note": "测试"},
    "POST /v1/products": _product,
    "POST /v1/products/{gtin}/batches": lambda d: {
        "lot": f"L{unique()}",
        "produced_on": days(-5),
        "expires_on": days(200),
        "inspection_reports": [],
    },
    "POST /v1/products/{gtin}/batches/{lot}/codes": lambda d: {"count": 2},
    "POST /v1/measures": lambda d: _measure(),
    "PUT /v1/measures/{id}": lambda d: _measure(),
    "POST /v1/measures/{id}/applications": lambda d: {
        "uscc": d.a.uscc,
        "applied_on": days(0),
        "action": "applied",
    },
    "POST /v1/subscriptions": lambda d: {
        "url": "https://8.8.8.8/qcr-hook",
        "events": ["credit.changed", "list.exited"],
    },
    "POST /v1/recalls/{id}/progress": lambda d: {
        "levels": [{"level": "consumer", "distributed": 10, "corrected": 5}],
        "notifications": {"sms": 3},
    },
    "POST /v1/recalls/{id}/returns": lambda d: {
        "gtin": d.a.product.gtin if d.a.product else "06901234567892",
        "lot": d.a.product.lot if d.a.product else "L1",
        "serial": d.a.product.serial if d.a.product else "X",
    },
    **{
        f"POST {path}/feedback": lambda d: {
            "rating": 4,
            "comment": "不错",
            "complaint": False,
            "contact": "contact-secret@example.com",
        }
        for path in RESOLVER_PATHS
    },
    "POST /v1/complaints/{id}/transitions": lambda d: {"to": "accepted"},
    "POST /v1/signals/{id}/transitions": lambda d: {"to": "triaged"},
    "POST /v1/complaints": lambda d: {
        "kind": "report",
        "uscc": d.a.uscc,
        "category": "质量问题",
        "description": "测试举报",
    },
}


# JSON bodies an endpoint reads by hand (it takes a form too), so the document has no
# schema for them: their fields and kinds.
UNDOCUMENTED_BODIES = {
    **{
        f"POST {path}/feedback": {
            "rating": {"number"},
            "comment": {"string"},
            "complaint": {"boolean"},
            "contact": {"string"},
        }
        for path in RESOLVER_PATHS
    },
    "POST /v1/complaints": {
        "kind": {"string"},
        "gtin": {"string"},
        "lot": {"string"},
        "serial": {"string"},
        "uscc": {"string"},
        "category": {"string"},
        "description": {"string"},
        "complainant": {"object"},
        "channel": {"string"},
        "authority": {"string"},
    },
}
