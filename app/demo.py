"""`qcr demo-data`: a believable, deterministic data set.

Organizations across several provinces (valid USCCs on real GB/T 2260 division
codes, Chinese names built the way enterprise names are: region + trade name +
industry + form). Loading twice changes nothing: organizations are upserted.
"""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import SYSTEM
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationWrite

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
INDUSTRIES = [
    ("食品", "C14"),
    ("乳业", "C144"),
    ("电器", "C38"),
    ("纺织", "C17"),
    ("玩具", "C245"),
    ("化妆品", "C268"),
    ("建材", "C30"),
    ("电线电缆", "C383"),
    ("汽车配件", "C367"),
    ("医疗器械", "C358"),
    ("燃气具", "C3857"),
    ("童装", "C181"),
]
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


async def load(session: AsyncSession, *, organizations: int = 300) -> str:
    """Load the demo set; returns a one-line summary."""
    created = 0
    for uscc, data in demo_organizations(organizations):
        _, was_created = await organization_service.upsert(session, SYSTEM, uscc, data)
        created += was_created
    total = await session.scalar(select(func.count()).select_from(Organization))
    return f"demo data: {created} organizations created, {total} in the registry"
