"""The demo loader makes resolvable products, once."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes.models import ItemCode, Product
from app.core.settings import Settings
from app.demo.products import load_demo_products
from app.organizations.models import Organization
from tests.codes.helpers import code_path
from tests.factories import make_organization


async def test_demo_products_resolve_and_load_once(
    client: AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    usccs = [await make_organization(session) for _ in range(3)]
    orgs = list(
        (await session.scalars(select(Organization).where(Organization.uscc.in_(usccs)))).all()
    )
    summary = await load_demo_products(session, orgs, settings=test_settings)
    await session.commit()
    assert summary.startswith("products: 3, batches: 6, item codes: 30; a recalled item: ")
    example = summary.rsplit(" ", 1)[1]
    doc = (await client.get(code_path(example), headers={"Accept": "application/json"})).json()
    assert doc["item"]["scan_count"] == 1
    assert len(doc["recalls"]) == 1
    assert doc["batch"]["inspection_reports"][0]["result"] == "pass"

    again = await load_demo_products(session, orgs, settings=test_settings)
    assert again == "products: 0, batches: 0, item codes: 0"
    assert await session.scalar(select(func.count()).select_from(Product)) == 3
    assert await session.scalar(select(func.count()).select_from(ItemCode)) == 30
