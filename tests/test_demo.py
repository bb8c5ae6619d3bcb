"""The demo data set is valid, spread over provinces, and loads idempotently."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.credit.models import CreditStatus
from app.demo import loader as demo
from app.demo import signals as signals_demo
from app.organizations import codes
from app.organizations.models import Organization
from app.records.models import GradeAssessment, Violation
from tests.factories import committed_key


async def test_demo_data_loads_once(session: AsyncSession) -> None:
    first = await demo.load(session, organizations=60)
    assert first.startswith("demo data: 60 organizations")
    again = await demo.load(session, organizations=60)
    assert again.startswith("demo data: 0 organizations and 0 records")
    orgs = (await session.scalars(select(Organization))).all()
    assert len(orgs) == 60 + len(signals_demo.APPLIANCES)  # the signals' appliance makers
    assert all(codes.parse_uscc(o.uscc) == o.uscc for o in orgs)
    assert len({o.uscc[2:4] for o in orgs}) >= 5  # several provinces
    assert (await session.scalar(select(func.count()).select_from(GradeAssessment)) or 0) > 0
    assert (await session.scalar(select(func.count()).select_from(Violation)) or 0) > 0
    assert await session.scalar(select(func.count()).select_from(CreditStatus)) == len(orgs)


async def test_demo_has_products_codes_and_lists(session: AsyncSession) -> None:
    from app.codes.models import ItemCode, Product
    from app.lists.models import ListPublication

    summary = await demo.load(session, organizations=40)
    assert "lists published" in summary
    assert (await session.scalar(select(func.count()).select_from(Product)) or 0) > 0
    assert (await session.scalar(select(func.count()).select_from(ItemCode)) or 0) > 0
    kinds = set((await session.scalars(select(ListPublication.kind))).all())
    assert kinds == {"red", "black"}


async def test_each_demo_enterprise_makes_what_its_industry_makes(session: AsyncSession) -> None:
    """Issue #13 item 9: a toy company made infant formula, a cosmetics company
    medical masks, and formula carried a toy's inspection items."""
    from app.codes.models import Batch, Product
    from app.demo.catalogue import CATEGORIES, category_of
    from app.records.models import Inspection

    await demo.load(session, organizations=80)
    orgs = {o.id: o for o in (await session.scalars(select(Organization))).all()}
    for org in orgs.values():
        category = category_of(org.industry_code)
        assert category.industry in org.name, (org.name, org.industry_code)
    products = (await session.scalars(select(Product))).all()
    assert products
    for product in products:
        category = category_of(orgs[product.organization_id].industry_code)
        assert product.name in {p.name for p in category.products}, product.name
        batches = (await session.scalars(select(Batch).where(Batch.product_id == product.id))).all()
        for batch in batches:
            for report in batch.inspection_reports:
                assert report["items"] == list(category.items), (product.name, report["items"])
                assert report["authority"] == category.laboratory
    inspections = (await session.scalars(select(Inspection))).all()
    assert inspections
    for inspection in inspections:
        category = category_of(orgs[inspection.organization_id].industry_code)
        assert inspection.product_name in {p.name for p in category.products}
        assert set(inspection.failed_items or []) <= set(category.failed_items)
    assert len({c.industry_code for c in CATEGORIES}) == len(CATEGORIES)


async def test_demo_shows_signals(session: AsyncSession) -> None:
    from app.complaints.models import Complaint
    from app.signals.models import Signal

    summary = await demo.load(session, organizations=30)
    assert "signals:" in summary
    raised = {
        (s.method, s.source, s.region, s.level) for s in await session.scalars(select(Signal))
    }
    assert ("binomial", "failed_inspections", "3302", 1) in raised  # the failure-rate jump
    assert any(m[1] == "suspicious" and m[3] == 2 for m in raised)  # the cloned code, capped
    assert any(m[1] == "complaints" for m in raised)  # the complaint cluster
    clusters = await session.scalars(
        select(func.count()).select_from(Complaint).group_by(Complaint.cluster_key)
    )
    assert max(clusters) == signals_demo.CLUSTER


async def test_the_cli_loads_in_one_ordinary_transaction(engine: AsyncEngine) -> None:
    # As `qcr demo-data` (the README's first command) loads it: one ordinary
    # transaction, not the tests' inline sequencing. Its lists are published
    # after its own writes in that transaction; the witness must not wait for
    # them (they cannot be sequenced before the transaction commits). An entry
    # committed meanwhile by another transaction makes the first publication
    # sequence it; the sequencer's newer transaction then leaves this one's own
    # entries visible in later snapshots (a snapshot never lists its own xid).
    await committed_key(engine, "partner")
    async with AsyncSession(engine) as session:
        summary = await demo.load(session, organizations=30)
        assert "lists published: 红榜 第" in summary and "黑榜 第" in summary
        await session.rollback()
