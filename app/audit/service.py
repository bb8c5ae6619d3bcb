"""Appending to and verifying the audit chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit.models import AuditEntry
from app.core.database import db_now
from app.core.principal import Principal

# One lock serialises appends: the chain has one head, and the change feed's
# sequence numbers (taken under the same lock) follow commit order.
WRITE_LOCK_ID = 0x51C4_0001


async def lock_chain(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_ID})


async def head(session: AsyncSession) -> tuple[int, str]:
    row = (
        await session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        )
    ).first()
    return (row.seq, row.hash) if row else (0, chain.GENESIS)


async def record(
    session: AsyncSession,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    await lock_chain(session)
    prev_seq, prev_hash = await head(session)
    at = await db_now(session)
    before_json, after_json = chain.jsonable(before), chain.jsonable(after)
    payload = chain.entry_payload(
        seq=prev_seq + 1,
        at=at,
        actor_key_id=actor.key_id,
        actor_role=actor.role.value,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before_json,
        after=after_json,
    )
    entry = AuditEntry(
        seq=prev_seq + 1,
        at=at,
        actor_key_id=actor.key_id,
        actor_role=actor.role.value,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before_json,
        after=after_json,
        prev_hash=prev_hash,
        hash=chain.link_hash(prev_hash, payload),
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next is {entry.seq})"
    if entry.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry's hash"
    payload = chain.entry_payload(
        seq=entry.seq,
        at=entry.at,
        actor_key_id=entry.actor_key_id,
        actor_role=entry.actor_role,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
    )
    if chain.link_hash(prev_hash, payload) != entry.hash:
        return "hash does not match the entry's content"
    return None


async def _entries(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq
        session.expunge_all()


async def verify(session: AsyncSession) -> tuple[int, Break | None]:
    """Recompute the chain; the number of entries checked and the first break."""
    expected, prev_hash, checked = 1, chain.GENESIS, 0
    async for entry in _entries(session):
        reason = _check(entry, expected, prev_hash)
        if reason:
            return checked, Break(entry.seq, reason)
        checked += 1
        expected, prev_hash = entry.seq + 1, entry.hash
    return checked, None
