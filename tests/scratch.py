"""Separate databases on the test server, for tests whose subject is a whole
committed database (the CLI, migrations, tampering as the owner)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.database import ensure_database


def scratch_url(owner_url: str, name: str) -> str:
    """The URL of database `name` on the server of `owner_url`, as the same login."""
    return make_url(owner_url).set(database=name).render_as_string(hide_password=False)


async def admin_execute(url: str, sql: str) -> None:
    """Run `sql` outside a transaction on the server's `postgres` database."""
    engine = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def scratch_database(url: str, *, template: str | None = None) -> Iterator[str]:
    """The database of `url`, new (one left over is dropped first): empty, or a copy
    of the database `template` (which nobody may be connected to); dropped after."""
    name = make_url(url).database
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(admin_execute(url, drop))
    if template is None:
        asyncio.run(ensure_database(url))
    else:
        asyncio.run(admin_execute(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield url
    finally:
        asyncio.run(admin_execute(url, drop))
