"""The hot statements have a generic plan that uses the indexes, so PostgreSQL
plans them once per connection, not at every call (app/credit/answers.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import KEY_SQL
from app.core import fastpath
from app.credit.answers import CURRENT_BY_ORG_CODE, CURRENT_BY_USCC

STATEMENTS = {
    "credit by USCC": (
        CURRENT_BY_USCC,
        "text, bool, date",
        "'91110108000024E1XX', false, '2026-11-30'",
    ),
    "credit by organization code": (
        CURRENT_BY_ORG_CODE,
        "text, bool, date",
        "'00002400X', false, '2026-11-30'",
    ),
    "key": (KEY_SQL, "text", "'0' "),
}


@pytest.mark.parametrize("name", STATEMENTS)
async def test_the_generic_plan_uses_an_index(session: AsyncSession, name: str) -> None:
    sql, types, args = STATEMENTS[name]
    driver = await fastpath.driver(session)
    await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    await driver.execute("SET LOCAL enable_seqscan = off")  # a usable index always wins
    await driver.execute(f"PREPARE hot ({types}) AS {sql}")
    try:
        plan = "\n".join(r[0] for r in await driver.fetch(f"EXPLAIN EXECUTE hot ({args})"))
    finally:
        await driver.execute("DEALLOCATE hot")
    assert "Seq Scan" not in plan, plan
