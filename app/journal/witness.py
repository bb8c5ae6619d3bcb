"""The witness of a publication (SPEC §7): the first signed tree head that covers
every write committed before it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.errors import Unavailable
from app.journal import heads, sequencer
from app.journal.models import TreeHead

INLINE = "journal.inline"  # session.info flag: tests sequence in their own transaction
WAIT_SECONDS = 10.0


@dataclass
class Runtime:
    """Set at start-up (server lifespan, CLI, tests): who signs tree heads."""

    signer: heads.Signer | None = None


runtime = Runtime()


def configure(signer: heads.Signer | None) -> None:
    runtime.signer = signer


def _engine_of(session: AsyncSession) -> AsyncEngine | None:
    """The session's own engine (its connections belong to this event loop)."""
    bind = session.bind
    if isinstance(bind, AsyncEngine):
        return bind
    if isinstance(bind, AsyncConnection):
        return bind.engine
    return None


# Entries committed before the snapshot and not sequenced yet. A snapshot never
# lists its own transaction as in progress, so once a newer transaction exists
# (the sequencer's, say) the caller's own entries look committed in it; they
# cannot be sequenced before it commits, and its writes are not "committed
# before" the publication (SPEC §7): they are left out, or a publication after
# writes in one transaction (`qcr demo-data`) would wait for itself and fail.
_PENDING = text(
    "SELECT count(*) FROM audit_entries e "
    "WHERE e.xact_id >= "
    "coalesce((SELECT horizon FROM sequencer_batches ORDER BY id DESC LIMIT 1), 0) "
    "AND e.xact_id IS DISTINCT FROM pg_current_xact_id_if_assigned()::text::bigint "
    "AND pg_visible_in_snapshot(e.xact_id::text::xid8, CAST(CAST(:snap AS text) AS pg_snapshot)) "
    "AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.entry_id = e.id)"
)
_COVERING = text(
    "SELECT l.seq FROM audit_log l JOIN audit_entries e ON e.id = l.entry_id "
    "WHERE pg_visible_in_snapshot(e.xact_id::text::xid8, CAST(CAST(:snap AS text) AS pg_snapshot)) "
    "ORDER BY l.seq DESC LIMIT 1"
)


async def covering_head(session: AsyncSession) -> TreeHead:
    """Wait (≤ 10 s) until every entry committed before now is sequenced, then the
    signed head of the smallest tree that holds them all."""
    signer = runtime.signer
    if signer is None:
        raise heads.SigningKeyError("no audit signing key: set QCR_AUDIT_SIGNING_KEY")
    if session.info.get(INLINE):
        done = await sequencer.sequence_pending(session)
        return await heads.sign(session, signer, done.tree_size)
    snap = await session.scalar(text("SELECT pg_current_snapshot()::text"))
    deadline = time.monotonic() + WAIT_SECONDS
    while await session.scalar(_PENDING, {"snap": snap}):
        if time.monotonic() > deadline:
            raise Unavailable(
                "the audit log is not sequenced yet; retry shortly", headers={"Retry-After": "2"}
            )
        engine = _engine_of(session)
        if engine is None or not await sequencer.catch_up(engine, signer):
            await asyncio.sleep(0.05)
    size = int(await session.scalar(_COVERING, {"snap": snap}) or 0)
    return await heads.sign(session, signer, size)
