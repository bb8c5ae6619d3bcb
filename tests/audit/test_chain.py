"""The audit chain: appended in the write's transaction, append-only in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.audit import chain
from app.audit import service as audit_service
from tests.factories import make_organization


async def test_chain_links_and_verifies(session: AsyncSession) -> None:
    for _ in range(3):
        await make_organization(session)
    checked, broken = await audit_service.verify(session)
    assert broken is None
    assert checked >= 3
    seq, head_hash = await audit_service.head(session)
    assert seq == checked
    assert len(head_hash) == 64


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ],
)
async def test_service_role_cannot_change_audit_rows(
    session: AsyncSession, connection: AsyncConnection, statement: str
) -> None:
    await make_organization(session)
    with pytest.raises(DBAPIError, match=r"permission denied|not allowed"):
        async with connection.begin_nested():
            await connection.execute(text(statement))


async def test_service_role_cannot_disable_the_triggers(
    session: AsyncSession, connection: AsyncConnection
) -> None:
    await make_organization(session)
    with pytest.raises(DBAPIError, match="must be owner"):
        async with connection.begin_nested():
            await connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER ALL"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ],
)
async def test_even_the_owner_is_refused_by_the_triggers(
    owner_engine: AsyncEngine, statement: str
) -> None:
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        owner_session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
        await make_organization(owner_session)
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin_nested():
                await conn.execute(text(statement))
        await outer.rollback()


async def test_an_altered_row_breaks_the_chain_at_that_entry(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        owner_session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
        for _ in range(4):
            await make_organization(owner_session)
        seq, _ = await audit_service.head(owner_session)
        target = seq - 1
        # A superuser bypasses the triggers to rewrite history.
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text('UPDATE audit_entries SET after = after || \'{"name": "forged"}\' WHERE seq = :s'),
            {"s": target},
        )
        owner_session.expunge_all()
        checked, broken = await audit_service.verify(owner_session)
        assert broken is not None
        assert broken.seq == target
        assert "hash does not match" in broken.reason
        assert checked == target - 1
        await outer.rollback()


async def test_a_deleted_row_breaks_the_chain(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        owner_session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint")
        for _ in range(3):
            await make_organization(owner_session)
        seq, _ = await audit_service.head(owner_session)
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": seq - 1})
        owner_session.expunge_all()
        _, broken = await audit_service.verify(owner_session)
        assert broken is not None
        assert broken.seq == seq
        assert "missing" in broken.reason
        await outer.rollback()


def test_hash_covers_every_field() -> None:
    import datetime as dt

    base = chain.entry_payload(
        seq=1,
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        actor_key_id=None,
        actor_role="admin",
        action="a",
        entity="e",
        entity_id="1",
        before=None,
        after={"k": "值"},
    )
    reference = chain.link_hash(chain.GENESIS, base)
    for field, value in [("seq", 2), ("action", "b"), ("entity_id", "2"), ("after", {"k": "x"})]:
        assert chain.link_hash(chain.GENESIS, base | {field: value}) != reference
    assert chain.link_hash("1" * 64, base) != reference
