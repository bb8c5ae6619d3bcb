"""Hot read paths: one prepared asyncpg statement on the request's own connection
and a response serialised once by orjson (STYLE "Hot paths").

The driver connection comes from the request's session, so a hot path sees the
same transaction as everything else in the request (and the tests' rolled-back
transactions); asyncpg keeps the prepared statement per connection.
"""

from __future__ import annotations

import asyncpg

from app.core.database import Reader


async def driver(session: Reader) -> asyncpg.Connection:
    """The asyncpg connection under the session (hot reads, COPY).

    Statements on it join the session's transaction once SQLAlchemy has begun
    one; before that they run on their own (reads) or in an explicit
    `transaction()` (writes)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver_connection = raw.driver_connection
    assert isinstance(driver_connection, asyncpg.Connection)
    return driver_connection
