"""The hot pool skips the reset round trip after a statement that ended normally,
and resets (or drops) a connection after any other (app/core/database.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import HotPool, make_fast_pool
from app.core.errors import is_broken_connection
from app.core.settings import Settings
from tests.conftest import DatabaseUnderTest

SET = "SELECT set_config('qcr.probe', $1, false)"
READ = "SELECT current_setting('qcr.probe', true) AS probe, pg_backend_pid() AS pid"


@pytest.fixture
async def one_connection(
    test_database: DatabaseUnderTest, test_settings: Settings
) -> AsyncIterator[HotPool]:
    pool = await make_fast_pool(
        test_database.service_url, test_settings.model_copy(update={"pool_size": 1})
    )
    yield pool
    await pool.close()


async def test_a_clean_statement_skips_the_reset(one_connection: HotPool) -> None:
    # Hot statements set no session state; this one does, to show that nothing
    # ran between the two calls (asyncpg's reset would have sent RESET ALL).
    await one_connection.fetchrow(SET, "kept")
    first = await one_connection.fetchrow(READ)
    assert first["probe"] == "kept"
    assert (await one_connection.fetch(READ))[0]["pid"] == first["pid"]


async def test_a_failed_statement_resets_the_connection(one_connection: HotPool) -> None:
    await one_connection.fetchrow(SET, "stale")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await one_connection.fetchrow("SELECT 1 / 0")
    after = await one_connection.fetchrow(READ)
    assert after["probe"] in (None, "")  # RESET ALL ran on release


async def test_several_statements_on_acquire_are_reset(one_connection: HotPool) -> None:
    async with one_connection.acquire() as connection:
        await connection.fetchrow(SET, "stale")
    assert (await one_connection.fetchrow(READ))["probe"] in (None, "")


async def test_a_connection_the_server_closed_is_replaced(
    one_connection: HotPool, engine: AsyncEngine
) -> None:
    pid = (await one_connection.fetchrow(READ))["pid"]
    async with engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    try:
        await one_connection.fetchrow(READ)
    except Exception as exc:  # what the driver says depends on when it reads the goodbye
        assert is_broken_connection(exc), exc
    again = await one_connection.fetchrow(READ)
    assert again["pid"] != pid
