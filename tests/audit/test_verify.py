"""`qcr audit verify` names the first forged entry, changed entry, or head that
the log no longer matches — even when the owner role did it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.audit import verify
from app.core.settings import Settings
from app.journal import heads, leaf, merkle, sequencer, witness
from tests.factories import make_organization


@pytest.fixture
async def owner_session(owner_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """The owner's transaction, rolled back at the end; it may lift the triggers."""
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        yield AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", info={witness.INLINE: True}
        )
        await outer.rollback()


async def _log(session: AsyncSession, settings: Settings, organizations: int = 4) -> int:
    for _ in range(organizations):
        await make_organization(session)
    done = await sequencer.sequence_pending(session, heads.load_signer(settings))
    return done.tree_size


async def _bypass_triggers(session: AsyncSession) -> None:
    await session.execute(text("SET LOCAL session_replication_role = replica"))


async def test_an_intact_log_verifies(owner_session: AsyncSession, test_settings: Settings) -> None:
    size = await _log(owner_session, test_settings)
    report = await verify.verify(owner_session)
    assert report.failure is None
    assert report.leaves == size and report.heads >= 1


async def test_a_changed_after_names_the_entry(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    await _bypass_triggers(owner_session)
    await owner_session.execute(
        text(
            'UPDATE audit_entries SET after = after || \'{"name": "forged"}\' '
            "WHERE id = (SELECT entry_id FROM audit_log WHERE seq = :s)"
        ),
        {"s": size - 1},
    )
    report = await verify.verify(owner_session)
    assert report.failure is not None
    assert report.failure.startswith(f"entry seq {size - 1} ")
    assert "do not match its leaf bytes" in report.failure


async def test_a_rewritten_leaf_and_hash_is_caught_by_the_tree_and_the_head(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    await _bypass_triggers(owner_session)
    row = (
        await owner_session.execute(
            text(
                "SELECT e.id, e.at, e.actor_key_id, e.actor_role, e.action, e.entity, "
                "e.entity_id, e.before FROM audit_entries e "
                "JOIN audit_log l ON l.entry_id = e.id WHERE l.seq = 2"
            )
        )
    ).one()
    forged = {"name": "forged"}
    raw = leaf.leaf_bytes(
        at=row.at, actor_key_id=row.actor_key_id, actor_role=row.actor_role, action=row.action,
        entity=row.entity, entity_id=row.entity_id, before=row.before, after=forged,
    )  # fmt: skip
    await owner_session.execute(
        text("UPDATE audit_entries SET after = CAST(:a AS jsonb), leaf = :l WHERE id = :i"),
        {"a": '{"name": "forged"}', "l": raw, "i": row.id},
    )
    await owner_session.execute(
        text("UPDATE audit_log SET leaf_hash = :h WHERE seq = 2"),
        {"h": merkle.leaf_hash(raw).hex()},
    )
    report = await verify.verify(owner_session)
    assert report.failure is not None
    assert "subtree hash" in report.failure or "tree head" in report.failure
    assert size >= 2


async def test_a_forged_row_inserted_by_the_owner_is_named(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    # The owner appends an entry and a leaf for it, and signs a head with a key
    # of its own: it does not have the registry's key.
    await owner_session.execute(
        text(
            "INSERT INTO audit_entries (at, actor_role, action, entity, entity_id, leaf) "
            "VALUES (now(), 'admin', 'forged', 'organization', 'x', 'not the fields')"
        )
    )
    await owner_session.execute(
        text(
            "INSERT INTO audit_log (seq, entry_id, leaf_hash, sequenced_at) "
            "SELECT :s, max(id), :h, now() FROM audit_entries"
        ),
        {"s": size + 1, "h": merkle.leaf_hash(b"not the fields").hex()},
    )
    report = await verify.verify(owner_session)
    assert report.failure is not None
    assert report.failure.startswith(f"entry seq {size + 1} ")


async def test_a_head_signed_with_another_key_is_named(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    impostor = heads.signer_from_seed("A" * 43 + "=")
    await _bypass_triggers(owner_session)
    await owner_session.execute(
        text("DELETE FROM audit_tree_heads WHERE tree_size = :s"), {"s": size}
    )
    head = await heads.sign(owner_session, impostor, size)
    await owner_session.execute(
        text("UPDATE audit_tree_heads SET key_id = :k WHERE tree_size = :s"),
        {"k": heads.load_signer(test_settings).key_id, "s": head.tree_size},
    )
    owner_session.expunge_all()
    report = await verify.verify(owner_session)
    assert report.failure == f"tree head of size {size}: its signature does not verify"


async def test_a_removed_tail_is_named_by_the_head_that_covered_it(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    await _bypass_triggers(owner_session)
    await owner_session.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": size - 1})
    report = await verify.verify(owner_session)
    assert report.failure is not None
    assert report.failure.startswith(f"tree head of size {size}: the log has only {size - 2}")
