"""Item scans: recorded without a write per request, counted in bounded time.

A serving process appends each scan to its `ScanBuffer`; a background task
writes the buffer every `FLUSH_SECONDS` (0.1 s) in one transaction on the
primary — one multi-row INSERT of the scans (partitioned by month), the
per-code counters (`scan_count`, `first_scanned_at`) bumped once per code, and
the code's first distinct clients kept in `item_scan_clients` (at most
`CLIENTS_KEPT` per code, numbered), and the day's counters of the signal
series (app/codes/daycounts.py, one statement) — and once more when the server
stops (SIGTERM drain).

What the scanner sees (SPEC §6 Freshness): `scan_count` is the stored count
plus this process's scans not yet written plus this one; another process's
scans appear once it has written them (within 0.1 s, plus the read's own lag).
The sum is exact, and reads and writes never wait for each other: the read's
statement also returns its snapshot (`pg_current_snapshot()`), and the buffer
adds the scans of every batch that snapshot did not see committed — pending,
being written, or committed after the snapshot was taken (a committed batch is
kept in memory until every read that began before its commit has ended). So no
scan is counted twice or missed.

What a crash can lose: the scans of this process not yet written — at most
0.1 s of scans, and never more than `MAX_PENDING` (10,000): a buffer that
reaches it is written at once. What it never does is count a scan twice: a
batch whose COMMIT got no answer (the server or the connection died as it
committed) may have committed or not, so it is neither written again nor
forgotten until PostgreSQL says what became of its transaction
(`pg_xact_status` of the id the batch read inside it, asked at the next
write); meanwhile a read whose snapshot does not show that transaction ended
counts its scans as unwritten, and one whose snapshot does counts them as
stored (had it in fact aborted, such a read shows them missing until the
settle, at the next write).
While the primary is unreachable, writes are retried every 0.1 s and scans
are kept up to `MAX_KEPT` (100,000); beyond that the oldest are dropped and
counted in the log (scans are telemetry).

Tests and the no-pool fallback write each scan at once through the request's
own connection (`write`, the same statements).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from app.codes import daycounts
from app.core.batching import Batcher
from app.core.handles import Handle

log = structlog.get_logger("qcr.scans")

FLUSH_SECONDS = 0.1
MAX_PENDING = 10_000
MAX_KEPT = 100_000
CLIENTS_KEPT = 32  # distinct clients kept per code: the threshold must stay below
PARTITIONS_AHEAD = 24  # months of partitions kept ready


@dataclass(frozen=True)
class Scan:
    item_id: int
    at: dt.datetime
    client_hash: bytes
    agent: str
    client_net: bytes | None = None  # an IPv6 client's /48 (the signal series' client)

    @property
    def counted(self) -> bool:
        return self.agent != "bot"  # bots are logged, never counted


LOCK_ITEMS = "SELECT id FROM item_codes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
INSERT_SCANS = """
INSERT INTO item_scans (item_id, scanned_at, client_hash, agent, client_net)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bytea[], $4::text[], $5::bytea[])
"""
BUMP_COUNTERS = """
UPDATE item_codes i
SET scan_count = i.scan_count + c.n, first_scanned_at = least(i.first_scanned_at, c.first)
FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS c(id, n, first)
WHERE i.id = c.id
"""
# A new client's `ordinal` is the kept clients before it plus one (the batch's
# items are locked, so no other writer numbers them): the codes with more
# clients than the threshold are those with a client numbered threshold + 1.
KEEP_CLIENTS = """
INSERT INTO item_scan_clients (item_id, client_hash, ordinal)
SELECT item_id, client_hash, ordinal FROM (
    SELECT c.item_id, c.client_hash,
           k.kept + row_number() OVER (PARTITION BY c.item_id ORDER BY c.client_hash) AS ordinal
    FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::bytea[])) AS c(item_id, client_hash)
    CROSS JOIN LATERAL (SELECT count(*) AS kept FROM item_scan_clients k
                        WHERE k.item_id = c.item_id) AS k
    WHERE NOT EXISTS (SELECT FROM item_scan_clients x
                      WHERE x.item_id = c.item_id AND x.client_hash = c.client_hash)
) AS new
WHERE ordinal <= $3::int
ON CONFLICT DO NOTHING
"""
# Items' stored counters and their other kept clients (at most CLIENTS_KEPT rows
# each), with the statement's snapshot (`n`: the place of the item asked for).
ITEMS = """
SELECT q.n, i.id, i.scan_count, i.first_scanned_at, pg_current_snapshot()::text AS snapshot,
       (SELECT count(*) FROM item_scan_clients k
        WHERE k.item_id = i.id AND k.client_hash <> q.client) AS other_clients
FROM unnest($1::uuid[], $2::text[], $3::bytea[]) WITH ORDINALITY AS q(batch_id, serial, client, n)
JOIN item_codes i ON i.batch_id = q.batch_id AND i.serial = q.serial
"""


XACT_ID = "SELECT pg_current_xact_id()::text"
XACT_STATUS = "SELECT pg_xact_status($1::text::xid8)"


class Unsure(Exception):
    """A batch's COMMIT got no answer: its transaction `xact_id` may have committed."""

    def __init__(self, xact_id: str) -> None:
        super().__init__(f"the commit of transaction {xact_id} got no answer")
        self.xact_id = xact_id


ItemKey = tuple[Any, str, bytes]  # batch id, serial, client hash


async def read_item(driver: Any, batch_id: Any, serial: str, client: bytes) -> Any:
    """The item's stored row: counters and the number of its other kept clients."""
    return (await read_items(driver, [(batch_id, serial, client)]))[0]


async def read_items(driver: Any, keys: list[ItemKey]) -> list[Any]:
    """`read_item` for each key, in one statement: the rows in the keys' order
    (None for a serial never issued)."""
    rows = await driver.fetch(
        ITEMS, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]
    )
    found: list[Any] = [None] * len(keys)
    for row in rows:
        found[row["n"] - 1] = row
    return found


async def write(connection: Any, scans: list[Scan], zone: ZoneInfo) -> None:
    """Store scans and their counters (the code's and the day's, app/codes/daycounts.py,
    days local to `zone`), in the connection's current transaction (or one of its
    own): items locked in id order, so concurrent writers never deadlock."""
    if not scans:
        return
    async with connection.transaction():
        await _statements(connection, _Batch(scans), zone)


async def _statements(connection: Any, batch: _Batch, zone: ZoneInfo) -> None:
    """`write`'s statements, in the connection's current transaction."""
    scans, counted, first = batch.scans, batch.counts, batch.first
    counted_scans = [scan for scan in scans if scan.counted]
    clients = {(scan.item_id, scan.client_hash) for scan in counted_scans}
    await connection.fetch(LOCK_ITEMS, sorted({s.item_id for s in scans}))
    await connection.execute(
        INSERT_SCANS,
        [s.item_id for s in scans],
        [s.at for s in scans],
        [s.client_hash for s in scans],
        [s.agent for s in scans],
        [s.client_net for s in scans],
    )
    if counted:
        ids = list(counted)
        await connection.execute(
            BUMP_COUNTERS, ids, [counted[i] for i in ids], [first[i] for i in ids]
        )
        pairs = sorted(clients)
        await connection.execute(
            KEEP_CLIENTS, [i for i, _ in pairs], [c for _, c in pairs], CLIENTS_KEPT
        )
        await connection.execute(
            daycounts.COUNT_BATCH,
            [s.item_id for s in counted_scans],
            [s.at.astimezone(zone).date() for s in counted_scans],
            [s.client_net or s.client_hash for s in counted_scans],
        )


class _Batch:
    """Scans taken from the buffer for one write, and what became of it."""

    def __init__(self, scans: list[Scan]) -> None:
        self.scans = scans
        self.counts: Counter[int] = Counter()  # counted scans, per item
        self.first: dict[int, dt.datetime] = {}  # the earliest of those, per item
        for scan in scans:
            if scan.counted:
                self.counts[scan.item_id] += 1
                if scan.item_id not in self.first or scan.at < self.first[scan.item_id]:
                    self.first[scan.item_id] = scan.at
        self.xact_id: int | None = None  # known once its transaction has begun
        self.committed_at: int | None = None  # the buffer's epoch at its commit


class Snapshot:
    """A statement's snapshot (`pg_current_snapshot()` as text, `xmin:xmax:xip,…`):
    which transactions' writes the statement saw."""

    def __init__(self, text: str) -> None:
        xmin, xmax, running = text.split(":")
        self.xmin, self.xmax = int(xmin), int(xmax)
        self.running = {int(x) for x in running.split(",")} if running else set()

    def sees(self, xact_id: int | None) -> bool:
        """The statement saw what this transaction wrote, if it committed (a batch
        without a transaction yet has not written anything)."""
        if xact_id is None or xact_id >= self.xmax:
            return False
        return xact_id < self.xmin or xact_id not in self.running


class ScanBuffer:
    """This process's scans not yet written; see the module docstring."""

    def __init__(self, pool: Any, zone: ZoneInfo, reads: Any = None) -> None:
        self.pool = pool
        self.zone = zone  # QCR_TIMEZONE: the days the scans are counted in
        # The stored counts are read from `reads` (the replica's pool, if any),
        # the reads of concurrent scans together (app/core/batching.py).
        self._items: Batcher[ItemKey, Any] = Batcher(functools.partial(read_items, reads or pool))
        self._pending: list[Scan] = []
        self._pending_counts: Counter[int] = Counter()  # counted, per item
        self._pending_first: dict[int, dt.datetime] = {}  # the earliest of those
        # Batches being written, whose commit got no answer, or committed but
        # still needed by a read that began before their commit.
        self._batches: list[_Batch] = []
        self._epoch = 0  # one more at each commit
        self._reads: Counter[int] = Counter()  # reads in flight, by the epoch they began in
        self._writing = asyncio.Lock()
        self._wake = asyncio.Event()

    def add(self, scan: Scan) -> None:
        self._pending.append(scan)
        if scan.counted:
            self._pending_counts[scan.item_id] += 1
            self._pending_first.setdefault(scan.item_id, scan.at)
        if len(self._pending) >= MAX_PENDING:
            self._wake.set()

    def unwritten(self, item_id: int, seen: Snapshot | None = None) -> int:
        """Counted scans of this item held here that a read under `seen` did not see
        stored (without `seen`: those not surely committed)."""
        return self._unwritten(item_id, seen)[0]

    def _unwritten(self, item_id: int, seen: Snapshot | None) -> tuple[int, dt.datetime | None]:
        """`unwritten`, and the earliest of those scans."""
        unseen = [
            b
            for b in self._batches
            if (b.committed_at is None if seen is None else not seen.sees(b.xact_id))
        ]
        count = self._pending_counts.get(item_id, 0)
        firsts = [self._pending_first.get(item_id)]
        for batch in unseen:
            count += batch.counts.get(item_id, 0)
            firsts.append(batch.first.get(item_id))
        return count, min((f for f in firsts if f is not None), default=None)

    async def read_item(
        self, batch_id: Any, serial: str, client: bytes
    ) -> tuple[Any, int, dt.datetime | None]:
        """The item's stored row, this process's counted scans of it that the row
        does not hold, and the earliest of those (None, 0, None: no such item).

        Reads never wait for a write: the statement's snapshot says which batches
        it saw stored (`Snapshot.sees`), and a committed batch stays known until
        every read that began before its commit has ended."""
        began = self._epoch
        self._reads[began] += 1
        try:
            row = await self._items.get((batch_id, serial, client))
            if row is None:
                return None, 0, None
            return row, *self._unwritten(row["id"], Snapshot(row["snapshot"]))
        finally:
            self._reads[began] -= 1
            if not self._reads[began]:
                del self._reads[began]
                self._release()

    def _release(self) -> None:
        """Forget committed batches that no read in flight may have missed."""
        oldest = min(self._reads, default=self._epoch + 1)
        self._batches = [
            b for b in self._batches if b.committed_at is None or b.committed_at >= oldest
        ]

    def _committed(self, batch: _Batch) -> None:
        batch.committed_at = self._epoch
        self._epoch += 1
        self._release()

    def _pend(self, scans: list[Scan]) -> None:
        """What is pending becomes `scans`, with their tallies."""
        self._pending, self._pending_counts, self._pending_first = [], Counter(), {}
        for scan in scans:
            self.add(scan)

    def _take(self) -> _Batch:
        batch = _Batch(self._pending)
        self._pend([])
        self._batches.append(batch)
        return batch

    def _give_back(self, batch: _Batch) -> None:
        """A batch surely not written: its scans are pending again, ahead of newer ones."""
        self._batches.remove(batch)
        self._pend(batch.scans + self._pending)

    async def flush(self) -> None:
        """Write what is pending; on failure keep it (bounded) for the next attempt.
        A write under way when the task is cancelled (the stop) is finished first:
        cancelled mid-statement it would be rolled back, and its scans lost."""
        async with self._writing:
            await self._flush()

    async def _flush(self) -> None:
        if self._unsure():
            await self._settle()
        if not self._pending:
            return
        batch = self._take()
        writing = asyncio.ensure_future(self._write(batch))
        cancelled = False
        while not writing.done():
            try:
                await asyncio.wait({writing})
            except asyncio.CancelledError:
                cancelled = True
        try:
            writing.result()
        except Unsure:
            if cancelled:  # kept: still counted as unwritten until settled
                raise asyncio.CancelledError from None
            raise
        except Exception:
            self._give_back(batch)
            self._trim()
            if cancelled:
                raise asyncio.CancelledError from None
            raise
        self._committed(batch)
        if cancelled:
            raise asyncio.CancelledError

    def _unsure(self) -> list[_Batch]:
        """Batches whose COMMIT got no answer (not being written now: `_writing` is held)."""
        return [b for b in self._batches if b.committed_at is None]

    async def _write(self, batch: _Batch) -> None:
        """One transaction; `Unsure` when its COMMIT got no answer (then it may have
        committed), any other error when it surely did not."""
        async with self.pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                batch.xact_id = int(await connection.fetchval(XACT_ID))
                await _statements(connection, batch, self.zone)
            except BaseException:
                with contextlib.suppress(Exception):
                    await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except Exception as exc:
                raise Unsure(str(batch.xact_id)) from exc

    async def _settle(self) -> None:
        """What became of the batches whose COMMIT got no answer: committed ones are
        forgotten (written), aborted ones written again; one still in progress (the
        server has not finished it) is asked about at the next write."""
        async with self.pool.acquire() as connection:
            for batch in self._unsure():
                status = await connection.fetchval(XACT_STATUS, str(batch.xact_id))
                if status == "in progress":
                    continue
                if status == "committed":
                    self._committed(batch)
                else:  # aborted (or, past all memory, unknown): not written
                    self._give_back(batch)
                log.info(
                    "scans_commit_settled", scans=len(batch.scans), committed=status == "committed"
                )

    def _trim(self) -> None:
        excess = len(self._pending) - MAX_KEPT
        if excess > 0:
            self._pend(self._pending[excess:])
            log.warning("scans_dropped", count=excess, reason="primary unreachable")

    async def run(self) -> None:
        """Write every FLUSH_SECONDS (sooner when MAX_PENDING is reached), until cancelled;
        then a last write (the SIGTERM drain)."""
        try:
            async with self.pool.acquire() as connection:
                await connection.execute("SELECT ensure_item_scan_partitions($1)", PARTITIONS_AHEAD)
        except Exception as exc:
            log.warning("scan_partitions_not_checked", error=type(exc).__name__)
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.flush()
                except Unsure:
                    log.warning("scans_commit_unanswered", next="asked at the next write")
                except Exception as exc:
                    log.warning("scans_not_written", error=type(exc).__name__)
                self._wake.clear()
                wait = max(0.0, FLUSH_SECONDS - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
        except asyncio.CancelledError:
            await self.flush()
            raise


# Bound by the serving app's lifespan; none in tests (each scan is written at once).
BUFFER: Handle[ScanBuffer] = Handle("scan_buffer", ScanBuffer)
