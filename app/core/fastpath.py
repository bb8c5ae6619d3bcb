"""Hot read paths: one prepared asyncpg statement on the request's own connection
and a response serialised once by orjson (STYLE "Hot paths").

The driver connection comes from the request's session, so a hot path sees the
same transaction as everything else in the request (and the tests' rolled-back
transactions); asyncpg keeps the prepared statement per connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, bindparam, func, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

from app.core.database import Reader, driver_of

# The asyncpg connection under a session: statements on it join the session's
# transaction once SQLAlchemy has begun one (app/core/database.py).
driver = driver_of


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Compiled:
    """A statement built once with SQLAlchemy and compiled once for asyncpg,
    run on the session's own connection (`driver`): no compilation, cache key or
    result processing per call — a statement of the write path cost 100-200 µs of
    CPU more through the session than through the driver. Rows come back as
    asyncpg records (`row["name"]`; JSON decoded, as by the session).

    Parameters are converted by the same bind processors SQLAlchemy would apply;
    a statement with an `IN` list expanded per call is refused (use `= ANY(:ids)`)."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled: Any = statement.compile(dialect=_DIALECT)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("an expanding IN parameter: use = ANY(:name)")
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup or ())
        self._defaults = dict(compiled.params)
        # What SQLAlchemy's execution applies to each parameter (an attribute of
        # its compiled form, stable across 2.x), applied here the same way.
        self._processors = dict(compiled._bind_processors)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The statement's positional arguments: `params`, else its own literals."""
        out = []
        for name in self._names:
            value = params[name] if name in params else self._defaults[name]
            process = self._processors.get(name)
            out.append(value if process is None else process(value))
        return out

    async def fetch(self, session: Reader, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await (await driver(session)).fetch(
            self.sql, *self.arguments(params)
        )
        return rows

    async def write(self, session: AsyncSession, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        """Run a statement that writes, in the session's transaction; its rows.
        SQLAlchemy begins the transaction on the connection at its first
        statement; where it has run none yet, a `SELECT 1` through it begins it
        (never a write on its own, committed whatever the session does)."""
        connection = await driver(session)
        if not connection.is_in_transaction():
            await session.execute(_BEGIN)
        rows: list[asyncpg.Record] = await connection.fetch(self.sql, *self.arguments(params))
        return rows


_BEGIN = text("SELECT 1")

# A list of UUIDs as one parameter (what `Compiled` takes instead of an IN list).
UUIDS = ARRAY(PG_UUID(as_uuid=True))


def any_uuid(name: str = "ids") -> Any:
    """`column == any_uuid()`: the column is one of the UUIDs given as `name`."""
    return func.any(bindparam(name, type_=UUIDS))
