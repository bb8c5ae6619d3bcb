"""A connection that a server shutdown broke under a raw-driver statement (the hot
paths) is discarded, never handed to the next request; other errors keep it.

Found in CI (tests/faults/test_database_restart.py): a credit lookup's statement
was cut short by the restart, SQLAlchemy put the connection back (it had run no
statement of its own, so its rollback was a no-op), and the next lookup on it
answered 500 with asyncpg's "cannot switch to state 12; another operation (2) is
in progress".
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import fastpath
from app.core.database import Database, get_session, make_engine
from app.core.errors import is_broken_connection, is_unavailable
from app.core.settings import Settings
from tests.conftest import DatabaseUnderTest


@pytest.fixture
async def one_connection(
    test_database: DatabaseUnderTest, test_settings: Settings
) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(test_database.service_url, test_settings, pool_size=1)
    yield engine
    await engine.dispose()


def _sessions(database: Database) -> AsyncGenerator[AsyncSession, None]:
    """The request's session dependency, driven as FastAPI drives it."""
    return cast(AsyncGenerator[AsyncSession, None], get_session(database))


async def _backend(database: Database, fail: BaseException | None = None) -> int:
    """The server process of the connection a request gets; `fail` ends the
    request with that exception after it used the raw driver."""
    sessions = _sessions(database)
    session = await anext(sessions)
    pid = int(await (await fastpath.driver(session)).fetchval("SELECT pg_backend_pid()"))
    if fail is None:
        await sessions.aclose()
    else:
        with pytest.raises(type(fail)):
            await sessions.athrow(fail)
    return pid


async def test_a_connection_the_server_closed_is_discarded(
    one_connection: AsyncEngine, engine: AsyncEngine
) -> None:
    database = Database(one_connection)
    pid = await _backend(database)
    assert await _backend(database) == pid  # one pooled connection, reused

    sessions = _sessions(database)
    session = await anext(sessions)
    raw = await fastpath.driver(session)
    async with engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    # What the driver raises depends on when it reads the server's goodbye: the
    # FATAL error, a closed connection, or (the CI failure) a protocol still
    # consuming that error: "another operation (2) is in progress".
    broken = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    with pytest.raises(broken) as cut:
        await raw.fetchval("SELECT 1")
    assert is_broken_connection(cut.value) and is_unavailable(cut.value)
    with pytest.raises(type(cut.value)):
        await sessions.athrow(cut.value)

    assert await _backend(database) != pid  # a new connection, not the dead one


async def test_a_driver_left_mid_operation_is_discarded_and_answers_503(
    one_connection: AsyncEngine,
) -> None:
    database = Database(one_connection)
    stuck = asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert is_broken_connection(stuck) and is_unavailable(stuck)
    pid = await _backend(database, fail=stuck)
    assert await _backend(database) != pid


async def test_an_ordinary_error_keeps_the_connection(one_connection: AsyncEngine) -> None:
    database = Database(one_connection)
    refused = asyncpg.DataError("invalid input for query argument $1")
    assert not is_broken_connection(refused) and not is_unavailable(refused)
    pid = await _backend(database, fail=ValueError("a bug of the route"))
    assert await _backend(database, fail=refused) == pid
    assert await _backend(database) == pid
