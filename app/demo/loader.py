"""`qcr demo-data`: a believable, deterministic data set.

Organizations across several provinces (valid USCCs on real GB/T 2260 division
codes, Chinese names built the way enterprise names are: region + trade name +
industry + form). Loading twice changes nothing: organizations are upserted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import service as approvals_service
from app.core import clock
from app.core.principal import SYSTEM
from app.core.progress import Advance
from app.demo import products as codes_demo
from app.demo import signals as signals_demo
from app.demo.catalogue import CATEGORIES, category_of
from app.lists import service as lists_service
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationWrite
from app.records import schemas
from app.records import service as records_service
from app.records.kinds import GRADE, INSPECTION, RECALL, VIOLATION, Kind

REGIONS = {
    "110105": "北京",
    "110108": "北京",
    "310115": "上海",
    "310112": "上海",
    "320505": "苏州",
    "330106": "杭州",
    "330212": "宁波",
    "370202": "青岛",
    "440305": "深圳",
    "440106": "广州",
    "510107": "成都",
    "420106": "武汉",
}
TRADE_NAMES = [
    "华信",
    "金鼎",
    "恒瑞",
    "龙腾",
    "安泰",
    "宏达",
    "瑞丰",
    "新特",
    "天成",
    "永盛",
    "嘉禾",
    "鸿运",
    "明珠",
    "东方",
    "长城",
    "正大",
    "远航",
    "佳美",
    "康达",
    "同仁",
]
INDUSTRIES = [(c.industry, c.industry_code) for c in CATEGORIES]
FORMS = ["有限公司", "股份有限公司", "科技有限公司", "制造有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀英华"
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def demo_organizations(count: int, seed: int = 2026) -> list[tuple[str, OrganizationWrite]]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[str, OrganizationWrite]] = []
    while len(out) < count:
        region, city = rng.choice(list(REGIONS.items()))
        body = "MA" + "".join(rng.choice(ORG_ALPHABET) for _ in range(6))
        uscc = codes.make_uscc("9", rng.choice("123"), region, body)
        trade = rng.choice(TRADE_NAMES) + rng.choice(TRADE_NAMES)[0]
        industry, industry_code = rng.choice(INDUSTRIES)
        name = f"{city}{trade}{industry}{rng.choice(FORMS)}"
        if uscc in seen or name in {o.name for _, o in out}:
            continue
        seen.add(uscc)
        out.append(
            (
                uscc,
                OrganizationWrite(
                    name=name,
                    address=f"{city}市{rng.choice(['经济技术开发区', '高新区', '工业园区'])}"
                    f"{rng.randint(1, 300)}号",
                    industry_code=industry_code,
                    legal_representative=rng.choice(SURNAMES)
                    + rng.choice(GIVEN)
                    + rng.choice(GIVEN),
                    status="deregistered" if rng.random() < 0.03 else "active",
                ),
            )
        )
    return out


AUTHORITIES = {
    "11": "北京市市场监督管理局",
    "31": "上海市市场监督管理局",
    "32": "江苏省市场监督管理局",
    "33": "浙江省市场监督管理局",
    "37": "山东省市场监督管理局",
    "44": "广东省市场监督管理局",
    "51": "四川省市场监督管理局",
    "42": "湖北省市场监督管理局",
}
VIOLATIONS = [
    ("产品质量不合格", "生产销售不合格产品，责令改正，没收违法产品并处罚款"),
    ("标签标识不规范", "产品标签未标注执行标准和生产日期，责令改正"),
    ("以次充好", "在产品中掺杂掺假、以次充好，没收违法所得并处罚款"),
    ("无证生产", "未取得生产许可证生产列入目录的产品，责令停止生产并处罚款"),
]


async def _records(
    session: AsyncSession, org: Organization, rng: random.Random, today: dt.date
) -> int:
    """A plausible record history for one organization; returns how many records."""
    authority = AUTHORITIES.get(org.uscc[2:4], "国家市场监督管理总局")
    line = category_of(org.industry_code)  # what this organization makes
    made = 0

    async def add(kind: Kind, data: object) -> None:
        nonlocal made
        await records_service.create(session, SYSTEM, kind, org, data)  # type: ignore[arg-type]
        made += 1

    if rng.random() < 0.45:
        assessed = today - dt.timedelta(days=rng.randint(10, 700))
        await add(
            GRADE,
            schemas.GradeCreate(
                grade=rng.choices(["AAA", "AA", "A", "B", "C"], [2, 4, 5, 3, 1])[0],
                assessed_on=assessed,
                valid_until=assessed + dt.timedelta(days=rng.choice([730, 1095])),
                authority=authority,
                basis="依据 GB/T 31870 企业质量信用等级划分与评价",
            ),
        )
    for n in range(rng.choices([0, 1, 2, 3], [70, 20, 7, 3])[0]):
        decided = today - dt.timedelta(days=rng.randint(5, 1300))
        category, summary = rng.choice(VIOLATIONS)
        severity = rng.choices(["minor", "general", "serious"], [5, 4, 1])[0]
        rectified = decided + dt.timedelta(days=rng.randint(10, 120))
        await add(
            VIOLATION,
            schemas.ViolationCreate(
                case_no=f"{authority[:2]}市监罚〔{decided.year}〕{org.org_code[-5:]}{n}号",
                authority=authority,
                decided_on=decided,
                category=category,
                severity=severity,
                description=f"内部案卷：监督抽查，涉案货值 {rng.randint(1, 90) * 1000} 元",
                public_summary=summary,
                penalty_amount=decimal.Decimal(rng.choice([2000, 5000, 12000, 50000, 200000])),
                rectified_on=rectified if rectified <= today and rng.random() < 0.7 else None,
            ),
        )
    for n in range(rng.choices([0, 1, 2], [60, 30, 10])[0]):
        made_here = rng.choice(line.products)
        product, standard = made_here.name, made_here.standard
        failed = rng.random() < 0.15
        inspected = today - dt.timedelta(days=rng.randint(5, 600))
        await add(
            INSPECTION,
            schemas.InspectionCreate(
                report_no=f"CJ{inspected.year}-{org.org_code}-{n}",
                authority=authority,
                inspected_on=inspected,
                product_name=product,
                standard=standard,
                result="fail" if failed else "pass",
                failed_items=list(line.failed_items) if failed else [],
            ),
        )
    if rng.random() < 0.04:
        product = rng.choice(line.products).name
        await add(
            RECALL,
            schemas.RecallCreate(
                recall_no=f"ZH{today.year}-{org.org_code}",
                product_name=product,
                initiated_on=today - dt.timedelta(days=rng.randint(3, 500)),
                kind=rng.choice(["voluntary", "voluntary", "ordered"]),
                hazard_class=rng.choice([1, 2, 3]),
                units=rng.randint(100, 20000),
                remedy="免费更换存在缺陷的部件",
            ),
        )
    return made


async def load(
    session: AsyncSession,
    *,
    organizations: int = 300,
    advance: Advance | None = None,
) -> str:
    """Load the demo set; returns a one-line summary. `advance(1)` per organization."""
    rng = random.Random(7)
    today = clock.today()
    created: list[Organization] = []
    records = 0
    for uscc, data in demo_organizations(organizations):
        org, was_created = await organization_service.upsert(session, SYSTEM, uscc, data)
        if was_created:  # records only with a new organization: loading twice adds nothing
            created.append(org)
            records += await _records(session, org, rng, today)
        if advance is not None:
            advance(1)
    total = await session.scalar(select(func.count()).select_from(Organization))
    lines = [
        f"demo data: {len(created)} organizations and {records} records created, "
        f"{total} organizations in the registry"
    ]
    if created:
        lines.append(await codes_demo.load_demo_products(session, created))
        # A demo data set is a sandbox with no officials: its first publications are
        # made by the loader itself, four eyes suspended for them (and audited).
        async with approvals_service.suspended(session, "demo-data"):
            lines.append("lists published: " + await lists_service.publish_demo_lists(session))
        lines.append(await signals_demo.load(session))
    return "\n".join(lines)
