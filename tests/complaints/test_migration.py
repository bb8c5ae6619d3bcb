"""Migration 0501: feedback flagged as a complaint before it becomes a complaint."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import migrations
from tests.core.test_migrations import scratch  # noqa: F401 - the fixture
from tests.factories import random_uscc

SEED = [
    "INSERT INTO organizations (uscc, org_code, name, region_code) "
    "VALUES (:uscc, :org, '测试电器有限公司', '330106')",
    "INSERT INTO products (gtin, organization_id, name, execution_standard, factory_name, "
    "factory_address) SELECT '06901234567892', id, '电热水壶', 'GB 4706.19-2008', '工厂', '地址' "
    "FROM organizations",
    "INSERT INTO feedback (organization_id, product_id, rating, comment, complaint, contact, "
    "client_hash, created_at) SELECT o.id, p.id, 1, '漏电', true, '13800001111', '\\x01', "
    "'2026-11-27 10:00:00+08' FROM organizations o, products p",
    "INSERT INTO feedback (organization_id, product_id, rating, complaint, client_hash) "
    "SELECT o.id, p.id, 5, false, '\\x02' FROM organizations o, products p",
]


async def _run(url: str, statements: list[str], params: dict[str, Any]) -> list[Any]:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)
        rows = (
            await conn.execute(
                text(
                    "SELECT kind, source, status, category, description, complainant, "
                    "received_on, decision_due_on, feedback_id IS NOT NULL AS linked "
                    "FROM complaints"
                )
            )
        ).all()
    await engine.dispose()
    return list(rows)


def test_feedback_complaints_become_complaints(scratch: str) -> None:  # noqa: F811
    migrations.upgrade(scratch, "0101")
    uscc = random_uscc("330106")
    params = {"uscc": uscc, "org": uscc[8:17]}

    async def seed() -> None:
        engine = create_async_engine(scratch)
        async with engine.begin() as conn:
            for statement in SEED:
                await conn.execute(text(statement), params)
        await engine.dispose()

    asyncio.run(seed())
    migrations.upgrade(scratch)
    rows = asyncio.run(_run(scratch, [], {}))
    assert len(rows) == 1  # the 5-star praise stays feedback only
    row = rows[0]
    assert (row.kind, row.source, row.status, row.category) == (
        "complaint",
        "feedback",
        "received",
        "质量问题",
    )
    assert row.description == "漏电" and row.complainant["phone"] == "13800001111"
    assert str(row.received_on) == "2026-11-27" and row.linked
    assert str(row.decision_due_on) == "2026-12-08"  # 7 working days after Friday 27 November
