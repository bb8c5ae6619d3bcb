"""The sequencer (SPEC §7): one per deployment, elected by a PostgreSQL advisory
lock held on a dedicated connection, inside every `qcr serve` process; when the
holder stops, its connection closes, the lock is free and another process takes
over within a second.

Order. Writers insert entries and events with their transaction id
(`pg_current_xact_id()`) and take no lock. A batch gives a `seq` to every entry
and event it can *see* that has none yet, so an entry is sequenced in the first
batch after its transaction commits: the order of `seq` is commit order (to
the batch), and a transaction that commits late gets a later `seq` — a reader
paging by `after` never skips it. Finding the unsequenced rows must not scan
the log: a batch remembers the horizon `pg_snapshot_xmin(pg_current_snapshot())`
taken *before* it looked — every transaction older than that had finished, so
it saw all of their rows — and the next batch only looks at transactions from
that horizon on (an index range on `xact_id`). A transaction that runs long
holds the horizon back (more rows to look at), never the sequence: other
writers' entries are sequenced as soon as they commit.

Tests run in one uncommitted transaction: `sequence_pending(session)` does a
batch in it, and sees that transaction's own writes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from prometheus_client import Gauge
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.database import db_now
from app.journal import heads, merkle, tree
from app.journal.models import FeedSeq, LogLeaf, SequencerBatch

log = structlog.get_logger("qcr.sequencer")

LOCK_ID = 0x51C4_0005
BATCH = 5000
INTERVAL = 0.1  # seconds between batches: the lag bound is 1 s
ELECTION_INTERVAL = 0.5

LAG = Gauge(
    "qcr_audit_sequencing_lag_seconds",
    "age of the oldest entry or event when its batch sequenced it (0 when idle)",
)
LEADER = Gauge("qcr_audit_sequencer_leader", "1 in the process that sequences the audit log")

_STATE = text(
    "SELECT horizon, tree_size, feed_size FROM sequencer_batches ORDER BY id DESC LIMIT 1"
)
_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_ENTRIES = text(
    "SELECT e.id, e.leaf, e.at FROM audit_entries e "
    "WHERE e.xact_id >= :horizon "
    "AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.entry_id = e.id) "
    "ORDER BY e.xact_id, e.id LIMIT :limit"
)
_EVENTS = text(
    "SELECT e.id, e.at FROM change_events e "
    "WHERE e.xact_id >= :horizon "
    "AND NOT EXISTS (SELECT 1 FROM change_sequence s WHERE s.event_id = e.id) "
    "ORDER BY e.xact_id, e.id LIMIT :limit"
)


@dataclass(frozen=True)
class Sequenced:
    entries: int
    events: int
    tree_size: int
    feed_size: int

    @property
    def more(self) -> bool:
        return self.entries >= BATCH or self.events >= BATCH


async def sequence_pending(
    session: AsyncSession, signer: heads.Signer | None = None, *, limit: int = BATCH
) -> Sequenced:
    """One batch in the caller's transaction: sequence what it sees, extend the
    tree, sign a head of the new size (when given a signer). The caller commits."""
    state = (await session.execute(_STATE)).first()
    horizon, tree_size, feed_size = (
        (state.horizon, state.tree_size, state.feed_size) if state else (0, 0, 0)
    )
    xmin = int((await session.scalar(_XMIN)) or 0)  # before looking: see the docstring
    entries = (await session.execute(_ENTRIES, {"horizon": horizon, "limit": limit})).all()
    events = (await session.execute(_EVENTS, {"horizon": horizon, "limit": limit})).all()
    if not entries and not events:
        LAG.set(0)
        return Sequenced(0, 0, tree_size, feed_size)
    now = await db_now(session)
    hashes = [merkle.leaf_hash(bytes(row.leaf)) for row in entries]
    if entries:
        await session.execute(
            insert(LogLeaf),
            [
                {
                    "seq": tree_size + i + 1,
                    "entry_id": row.id,
                    "leaf_hash": h.hex(),
                    "sequenced_at": now,
                }
                for i, (row, h) in enumerate(zip(entries, hashes, strict=True))
            ],
        )
        await tree.append(session, tree_size, hashes)
    if events:
        await session.execute(
            insert(FeedSeq),
            [{"seq": feed_size + i + 1, "event_id": row.id} for i, row in enumerate(events)],
        )
    complete = len(entries) < limit and len(events) < limit
    new_tree, new_feed = tree_size + len(entries), feed_size + len(events)
    await session.execute(
        insert(SequencerBatch).values(
            horizon=xmin if complete else horizon, tree_size=new_tree, feed_size=new_feed, at=now
        )
    )
    if signer is not None and entries:
        await heads.sign(session, signer, new_tree)
    oldest = min(row.at for row in [*entries, *events])
    LAG.set(max(0.0, (now - oldest).total_seconds()))
    return Sequenced(len(entries), len(events), new_tree, new_feed)


async def try_lead(conn: AsyncConnection) -> bool:
    got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_ID}))
    await conn.commit()
    return got


async def drain(conn: AsyncConnection, signer: heads.Signer) -> int:
    """Batches on a leading connection until nothing is pending; entries sequenced."""
    total = 0
    while True:
        async with AsyncSession(bind=conn, expire_on_commit=False) as session:
            done = await sequence_pending(session, signer)
            await session.commit()
        total += done.entries
        if not done.more:
            return total


async def catch_up(engine: AsyncEngine, signer: heads.Signer) -> bool:
    """Sequence everything committed so far if no sequencer leads (the CLI without
    a server); False when another process leads (it will do it)."""
    async with engine.connect() as conn:
        if not await try_lead(conn):
            return False
        try:
            await drain(conn, signer)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_ID})
            await conn.commit()
    return True


async def run(engine: AsyncEngine, signer: heads.Signer, interval: float = INTERVAL) -> None:
    """The server's task: win the election, then sequence every `interval`."""
    while True:
        try:
            async with engine.connect() as conn:
                while not await try_lead(conn):  # noqa: ASYNC110 (the lock is in PostgreSQL)
                    await asyncio.sleep(ELECTION_INTERVAL)
                LEADER.set(1)
                log.info("sequencer_leading")
                while True:
                    started = time.monotonic()
                    await drain(conn, signer)
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        except asyncio.CancelledError:
            LEADER.set(0)
            raise
        except Exception:  # a lost connection or a failed batch: elect again
            LEADER.set(0)
            log.exception("sequencer_failed")
            await asyncio.sleep(ELECTION_INTERVAL)
