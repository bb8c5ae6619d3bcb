"""A small world for the security tests, made through the API itself.

Two organizations (A holds the USCC the OpenAPI document uses as its example,
so even schemathesis's explicit examples hit data), a key per role (the
enterprise key bound to A, another bound to B), and for each organization a
grade, an old rectified violation with a pending repair request, an
inspection, a recall and — for B — a serious violation that puts it on the
black list, a product with a batch, item codes and a feedback, and a red and a
black list publication. Seeding fails loudly: a step the API refuses stops the
test, never a world with a hole in it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from httpx import AsyncClient

from app.core.clock import today
from app.identifiers.gtin import make_gtin
from tests.factories import random_uscc

EXAMPLE_USCC = "91110000600037341L"  # the example of every `{code}` in the OpenAPI document
ROLES = ("anonymous", "partner", "enterprise", "regulator", "admin")

# Fields no one but regulators (and, for the organization, its own key) may see.
PRIVATE_FIELDS = frozenset({"legal_representative", "description", "contact", "created_by"})
# The private values the dataset stores (legal representatives, internal
# descriptions, a feedback contact): none may appear where private fields may not.
SECRET_MARKERS = ("法人秘密甲", "法人秘密乙", "内部案情秘密", "contact-secret@example.com")

MakeKey = Callable[[str, str | None], Awaitable[dict[str, str]]]


@dataclass
class Product:
    gtin: str
    lot: str
    serial: str
    feedback_id: str | None

    @property
    def code(self) -> str:
        """The item code's Digital Link path after `/01/`."""
        return f"{self.gtin}/10/{self.lot}/21/{self.serial}"


@dataclass
class Organization:
    uscc: str
    violation_id: str = ""
    audit_seq: int = 0  # the seq of its creation's audit entry
    serious_violation_id: str = ""
    inspection_id: str = ""
    recall_id: str = ""
    repair_id: str = ""
    complaint_id: str = ""
    objection_id: str = ""
    product: Product | None = None


@dataclass
class Dataset:
    a: Organization
    b: Organization
    headers: dict[str, dict[str, str]]  # role -> headers; "enterprise" is bound to A
    enterprise_b: dict[str, str]
    publications: dict[str, int] = field(default_factory=dict)  # kind -> number
    measure_id: str = ""
    subscription_id: str = ""

    def known_ids(self, org: Organization | None = None) -> dict[str, str]:
        """`{id}` of each path family, for substitution into generated requests."""
        org = org or self.a
        return {
            "violations": org.violation_id,
            "inspections": org.inspection_id,
            "recalls": org.recall_id,
            "repairs": org.repair_id,
            "feedback": (org.product.feedback_id or "") if org.product else "",
            "complaints": org.complaint_id,
            "objections": org.objection_id,
            "measures": self.measure_id,
            "subscriptions": self.subscription_id,
        }


def _days_ago(n: int) -> str:
    return (today() - dt.timedelta(days=n)).isoformat()


async def _ok(client: AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    response = await client.request(method, url, **kwargs)
    assert response.status_code in (200, 201), f"{method} {url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def _organization(
    client: AsyncClient, regulator: dict[str, str], uscc: str, label: str
) -> Organization:
    org = Organization(uscc)
    await _ok(
        client,
        "PUT",
        f"/v1/organizations/{uscc}",
        json={
            "name": f"安全测试{label}食品有限公司",
            "address": "北京市海淀区中关村1号",
            "legal_representative": "法人秘密" + label,
            "industry_code": "C14",
        },
        headers=regulator,
    )
    base = f"/v1/organizations/{uscc}"
    await _ok(
        client,
        "POST",
        f"{base}/grades",
        json={
            "grade": "AA",
            "assessed_on": _days_ago(60),
            "authority": "北京市市场监督管理局",
            "basis": "年度评价",
        },
        headers=regulator,
    )
    violation = await _ok(
        client,
        "POST",
        f"{base}/violations",
        json={
            "case_no": f"京市监罚〔2025〕{uuid.uuid4().hex[:8]}号",
            "authority": "北京市市场监督管理局",
            "decided_on": _days_ago(400),
            "category": "产品质量不合格",
            "severity": "general",
            "description": "内部案情秘密" + label,
            "public_summary": "生产不合格产品，责令改正",
            "penalty_amount": "5000.00",
            "rectified_on": _days_ago(380),
        },
        headers=regulator,
    )
    org.violation_id = violation["id"]
    inspection = await _ok(
        client,
        "POST",
        f"{base}/inspections",
        json={
            "report_no": f"JD-{uuid.uuid4().hex[:8]}",
            "authority": "国家市场监督管理总局",
            "inspected_on": _days_ago(30),
            "product_name": "饼干",
            "gtin": "6901234567892",
            "lot": "L1",
            "standard": "GB 7100-2015",
            "result": "fail",
            "failed_items": ["菌落总数"],
        },
        headers=regulator,
    )
    org.inspection_id = inspection["id"]
    recall = await _ok(
        client,
        "POST",
        f"{base}/recalls",
        json={
            "recall_no": f"RC-{uuid.uuid4().hex[:8]}",
            "product_name": "饼干",
            "initiated_on": _days_ago(10),
            "kind": "voluntary",
            "hazard_class": 3,
            "units": 100,
            "remedy": "退货",
        },
        headers=regulator,
    )
    org.recall_id = recall["id"]
    repair = await _ok(
        client,
        "POST",
        f"{base}/repairs",
        json={"violation_id": org.violation_id, "reason": "已整改到位"},
        headers=regulator,
    )
    org.repair_id = repair["id"]
    complaint = await client.post(
        "/v1/complaints",
        json={
            "kind": "complaint",
            "uscc": uscc,
            "category": "质量问题",
            "description": "饼干有异味",
            "complainant": {"name": "投诉人", "phone": "13800000000", "address": "北京"},
        },
        headers=regulator,
    )
    if complaint.status_code == 201:
        org.complaint_id = complaint.json()["id"]
    objection = await _ok(
        client,
        "POST",
        "/v1/objections",
        json={"record_type": "violation", "record_id": org.violation_id, "grounds": "罚款认定有误"},
        headers=regulator,
    )
    org.objection_id = objection["id"]
    return org


async def _product(client: AsyncClient, regulator: dict[str, str], uscc: str, body: str) -> Product:
    """A product, a batch, three item codes and a feedback."""
    gtin = make_gtin(body)
    created = await _ok(
        client,
        "POST",
        "/v1/products",
        json={
            "gtin": gtin,
            "uscc": uscc,
            "name": "安全测试饼干",
            "execution_standard": "GB 7100-2015",
            "factory_name": "安全测试工厂",
            "factory_address": "北京市海淀区1号",
        },
        headers=regulator,
    )
    gtin = created["gtin"]
    await _ok(
        client,
        "POST",
        f"/v1/products/{gtin}/batches",
        json={"lot": "L1", "produced_on": _days_ago(20)},
        headers=regulator,
    )
    codes = f"/v1/products/{gtin}/batches/L1/codes"
    issued = await _ok(client, "POST", codes, json={"count": 3}, headers=regulator)
    product = Product(gtin, "L1", issued["first_serial"], None)
    feedback = await _ok(
        client,
        "POST",
        f"/01/{product.code}/feedback",
        json={"rating": 2, "comment": "有异味", "complaint": True, "contact": SECRET_MARKERS[2]},
        headers={"Accept": "application/json"},
    )
    product.feedback_id = str(feedback["id"])
    return product


async def seed(client: AsyncClient, make_key: MakeKey) -> Dataset:
    """Make the world through `client`; keys through `make_key(role, uscc)`."""
    regulator = await make_key("regulator", None)
    a = await _organization(client, regulator, EXAMPLE_USCC, "甲")
    b = await _organization(client, regulator, random_uscc(), "乙")
    serious = await _ok(
        client,
        "POST",
        f"/v1/organizations/{b.uscc}/violations",
        json={
            "case_no": f"京市监罚〔2026〕{uuid.uuid4().hex[:8]}号",
            "authority": "北京市市场监督管理局",
            "decided_on": _days_ago(5),
            "category": "生产假冒伪劣产品",
            "severity": "serious",
            "description": "内部案情秘密乙2",
            "public_summary": "生产假冒产品，罚款",
        },
        headers=regulator,
    )
    b.serious_violation_id = serious["id"]
    a.product = await _product(client, regulator, a.uscc, "690123456701")
    b.product = await _product(client, regulator, b.uscc, "690123456702")
    headers = {
        "anonymous": {},
        "partner": await make_key("partner", None),
        "enterprise": await make_key("enterprise", a.uscc),
        "regulator": regulator,
        "admin": await make_key("admin", None),
    }
    dataset = Dataset(a, b, headers, await make_key("enterprise", b.uscc))
    for kind in ("red", "black"):
        published = await _ok(
            client,
            "POST",
            f"/v1/lists/{kind}/publications",
            json={"note": "安全测试"},
            headers=regulator,
        )
        dataset.publications[kind] = int(published["number"])
    measure = await _ok(
        client,
        "POST",
        "/v1/measures",
        json={
            "matter": "政府采购",
            "target_list": "black",
            "measure": "限制参与政府采购",
            "department": "财政部门",
            "legal_basis": "《政府采购法》第二十二条",
        },
        headers=regulator,
    )
    dataset.measure_id = measure["id"]
    subscription = await _ok(
        client,
        "POST",
        "/v1/subscriptions",
        json={
            "url": "https://8.8.8.8/qcr-hook",
            "events": ["list.exited"],
            "measures": [dataset.measure_id],
        },
        headers=headers["partner"],
    )
    dataset.subscription_id = subscription["id"]
    for org in (a, b):  # sequenced by now: a publication waits for the log
        trail = await client.get(f"/v1/audit?entity=organization&id={org.uscc}", headers=regulator)
        seq = trail.json()["items"][-1]["seq"]
        assert seq is not None, f"{org.uscc}: its creation is not sequenced"
        org.audit_seq = int(seq)
    for org in (a, b):
        missing = [
            name
            for name, value in vars(org).items()
            if value in ("", None) and not (org is a and name == "serious_violation_id")
        ]
        assert not missing, f"the seed left {org.uscc} without {missing}"
    assert dataset.measure_id and dataset.subscription_id and len(dataset.publications) == 2
    return dataset


def path_values(path: str, dataset: Dataset, generated: dict[str, Any]) -> dict[str, Any]:
    """Values for the parameters of `path` that point at records of `dataset`
    (organization A's); parameters it knows nothing of keep their `generated` value."""
    a = dataset.a
    known = dataset.known_ids()
    segments = path.strip("/").split("/")
    values = dict(generated)
    for name in generated:
        holder = next(i for i, s in enumerate(segments) if "{" + name in s)
        before = segments[holder - 1] if holder else ""
        if name == "code" and path.startswith("/01/"):
            values[name] = a.product.code if a.product else values[name]
        elif name == "code":
            values[name] = a.uscc
        elif name == "id" and known.get(before):
            values[name] = known[before]
        elif name == "seq":
            values[name] = a.audit_seq
        elif name == "kind":
            values[name] = "black"
        elif name == "number":
            values[name] = dataset.publications["black"]
        elif name == "fmt":
            values[name] = "svg"
        elif a.product and name in ("gtin", "lot", "serial"):
            values[name] = getattr(a.product, name)
    return values


def fill_path(path: str, dataset: Dataset) -> str:
    """`path` with every `{name}` (or `{name:converter}`) replaced by a value of `dataset`."""
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    values = path_values(path, dataset, dict.fromkeys(names, "x"))
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(values[m.group(1)]), path)
