"""The turn-1 hash chain, kept verifiable: entries made before the Merkle log
carry `prev_hash` and `hash` (their chain `seq` is their id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit.models import AuditEntry
from app.journal import leaf


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.id != expected_seq:
        return f"chained entry {expected_seq} is missing (next is {entry.id})"
    if entry.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry's hash"
    payload = chain.entry_payload(seq=entry.id, **leaf.entry_fields(entry))
    if chain.link_hash(prev_hash, payload) != entry.hash:
        return "hash does not match the entry's content"
    return None


async def _chained(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > after, AuditEntry.hash.is_not(None))
                .order_by(AuditEntry.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].id
        session.expunge_all()


async def verify_chain(session: AsyncSession) -> tuple[dict[int, str], Break | None]:
    """Recompute the old chain: the hash of each link, and the first break."""
    expected, prev_hash = 1, chain.GENESIS
    links: dict[int, str] = {}
    async for entry in _chained(session):
        reason = _check(entry, expected, prev_hash)
        if reason:
            return links, Break(entry.id, reason)
        assert entry.hash is not None
        links[entry.id] = entry.hash
        expected, prev_hash = entry.id + 1, entry.hash
    return links, None
