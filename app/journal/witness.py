"""The witness of a publication (SPEC §7): the first signed tree head that covers
every write committed before it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.errors import Unavailable
from app.journal import heads, sequencer
from app.journal.models import TreeHead

INLINE = "journal.inline"  # session.info flag: tests sequence in their own transaction
WAIT_SECONDS = 10.0


@dataclass
class Runtime:
    """Set at start-up (server lifespan, CLI, tests): who signs, where to catch up."""

    signer: heads.Signer | None = None
    engine: AsyncEngine | None = None


runtime = Runtime()


def configure(signer: heads.Signer | None, engine: AsyncEngine | None = None) -> None:
    runtime.signer, runtime.engine = signer, engine


_PENDING = text(
    "SELECT count(*) FROM audit_entries e "
    "WHERE e.xact_id >= "
    "coalesce((SELECT horizon FROM sequencer_batches ORDER BY id DESC LIMIT 1), 0) "
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
        if runtime.engine is None or not await sequencer.catch_up(runtime.engine, signer):
            await asyncio.sleep(0.05)
    size = int(await session.scalar(_COVERING, {"snap": snap}) or 0)
    return await heads.sign(session, signer, size)
