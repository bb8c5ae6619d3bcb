"""The database itself refuses to change a publication or its entries: the
service role lacks the privileges, and triggers refuse even the owner."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.lists.conftest import TODAY
from tests.lists.helpers import black_listed, publish

STATEMENTS = [
    "UPDATE list_publications SET note = 'changed'",
    "UPDATE list_publications SET sha256 = repeat('0', 64)",
    "DELETE FROM list_publications",
    "UPDATE list_entries SET line = '{}'",
    "DELETE FROM list_entries",
]
TRUNCATE = ["TRUNCATE list_entries", "TRUNCATE list_publications CASCADE"]


async def test_the_service_role_cannot_change_a_publication(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    await black_listed(client, session, regulator, decided_on=TODAY.isoformat())
    await publish(client, regulator, "black")
    for statement in STATEMENTS + TRUNCATE:
        with pytest.raises(DBAPIError, match=r"permission denied|not allowed"):
            async with session.begin_nested():
                await session.execute(text(statement))
    count = await session.scalar(text("SELECT count(*) FROM list_entries"))
    assert count == 1


async def test_triggers_refuse_even_the_owner(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        for statement in TRUNCATE:
            savepoint = await conn.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
            await savepoint.rollback()
        await conn.execute(
            text(
                "INSERT INTO list_publications (kind, number, as_of, published_at, entry_count, "
                "sha256, audit_seq, audit_hash, policy_version) VALUES ('red', 1, '2026-01-01', "
                "now(), 1, repeat('a', 64), 0, repeat('0', 64), 'v1')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO list_entries (kind, number, ordinal, uscc, name, line) "
                "VALUES ('red', 1, 1, 'X', 'x', '{}')"
            )
        )
        for statement in STATEMENTS:
            savepoint = await conn.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))
            await savepoint.rollback()
        await outer.rollback()


async def test_entries_need_their_publication(owner_engine: AsyncEngine) -> None:
    """Entries are written first, their publication row (with the hash) last; the
    reference is checked at commit, so entries never outlive a failed publication."""
    async with owner_engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(
            text(
                "INSERT INTO list_entries (kind, number, ordinal, uscc, name, line) "
                "VALUES ('black', 77, 1, 'X', 'x', '{}')"
            )
        )
        with pytest.raises(DBAPIError, match="foreign key"):
            await transaction.commit()
