"""The demo data set is valid, spread over provinces, and loads idempotently."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.credit.models import CreditStatus
from app.demo import loader as demo
from app.organizations import codes
from app.organizations.models import Organization
from app.records.models import GradeAssessment, Violation


async def test_demo_data_loads_once(session: AsyncSession) -> None:
    first = await demo.load(session, organizations=60)
    assert first.startswith("demo data: 60 organizations")
    again = await demo.load(session, organizations=60)
    assert again.startswith("demo data: 0 organizations and 0 records")
    orgs = (await session.scalars(select(Organization))).all()
    assert len(orgs) == 60
    assert all(codes.parse_uscc(o.uscc) == o.uscc for o in orgs)
    assert len({o.uscc[2:4] for o in orgs}) >= 5  # several provinces
    assert (await session.scalar(select(func.count()).select_from(GradeAssessment)) or 0) > 0
    assert (await session.scalar(select(func.count()).select_from(Violation)) or 0) > 0
    assert await session.scalar(select(func.count()).select_from(CreditStatus)) == 60


async def test_demo_has_products_codes_and_lists(session: AsyncSession) -> None:
    from app.codes.models import ItemCode, Product
    from app.lists.models import ListPublication

    summary = await demo.load(session, organizations=40)
    assert "lists published" in summary
    assert (await session.scalar(select(func.count()).select_from(Product)) or 0) > 0
    assert (await session.scalar(select(func.count()).select_from(ItemCode)) or 0) > 0
    kinds = set((await session.scalars(select(ListPublication.kind))).all())
    assert kinds == {"red", "black"}
