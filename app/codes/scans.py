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
The sum is exact: a write of the buffer never overlaps a read of the stored
count (reads share the buffer, a write waits for the reads in flight and holds
new ones back for its few milliseconds), so no scan is counted twice or missed.

What a crash can lose: the scans of this process not yet written — at most
0.1 s of scans, and never more than `MAX_PENDING` (10,000): a buffer that
reaches it is written at once. What it never does is count a scan twice: a
batch whose COMMIT got no answer (the server or the connection died as it
committed) may have committed or not, so it is neither written again nor
forgotten until PostgreSQL says what became of its transaction
(`pg_xact_status` of the id the batch read inside it, asked at the next
write); meanwhile its scans still count as this process's unwritten ones.
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
from collections import Counter, defaultdict
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
# The item's stored counters and its other kept clients (at most CLIENTS_KEPT rows).
ITEM = """
SELECT i.id, i.scan_count, i.first_scanned_at,
       (SELECT count(*) FROM item_scan_clients k
        WHERE k.item_id = i.id AND k.client_hash <> $3) AS other_clients
FROM item_codes i WHERE i.batch_id = $1 AND i.serial = $2
"""
# The same for several items at once (`n`: the place of the item asked for).
ITEMS = """
SELECT q.n, i.id, i.scan_count, i.first_scanned_at,
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


async def read_item(driver: Any, batch_id: Any, serial: str, client: bytes) -> Any:
    """The item's stored row: counters and the number of its other kept clients."""
    return await driver.fetchrow(ITEM, batch_id, serial, client)


ItemKey = tuple[Any, str, bytes]  # batch id, serial, client hash


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
        await _statements(connection, scans, zone)


async def _statements(connection: Any, scans: list[Scan], zone: ZoneInfo) -> None:
    """`write`'s statements, in the connection's current transaction."""
    counted_scans = [scan for scan in scans if scan.counted]
    counted: Counter[int] = Counter()
    first: dict[int, dt.datetime] = {}
    clients: set[tuple[int, bytes]] = set()
    for scan in counted_scans:
        counted[scan.item_id] += 1
        first[scan.item_id] = min(first.get(scan.item_id, scan.at), scan.at)
        clients.add((scan.item_id, scan.client_hash))
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


class ScanBuffer:
    """This process's scans not yet written; see the module docstring."""

    def __init__(self, pool: Any, zone: ZoneInfo, reads: Any = None) -> None:
        self.pool = pool
        # The stored counts are read from `reads` (the replica's pool, if any),
        # the reads of concurrent scans together (app/core/batching.py).
        self._items: Batcher[ItemKey, Any] = Batcher(functools.partial(read_items, reads or pool))
        self.zone = zone  # QCR_TIMEZONE: the days the scans are counted in
        self._pending: list[Scan] = []
        # Reads of stored counts in flight, and whether a write may start: a read
        # that overlapped a write could not tell whether its snapshot had it.
        self._readers = 0
        self._no_readers = asyncio.Event()
        self._no_readers.set()
        self._no_writer = asyncio.Event()
        self._no_writer.set()
        self._unwritten: defaultdict[int, int] = defaultdict(int)  # counted, per item
        self._first: dict[int, dt.datetime] = {}  # the earliest of those
        self._wake = asyncio.Event()
        self.dropped = 0
        # Batches whose COMMIT got no answer, by their transaction's id: settled
        # (forgotten or written again) once PostgreSQL says what became of them.
        self._unsure: list[tuple[str, list[Scan]]] = []

    def add(self, scan: Scan) -> None:
        self._pending.append(scan)
        if scan.counted:
            self._unwritten[scan.item_id] += 1
            self._first.setdefault(scan.item_id, scan.at)
        if len(self._pending) >= MAX_PENDING:
            self._wake.set()

    def unwritten(self, item_id: int) -> int:
        """Counted scans of this item held here (pending or being written)."""
        return self._unwritten.get(item_id, 0)

    async def read_item(
        self, batch_id: Any, serial: str, client: bytes
    ) -> tuple[Any, int, dt.datetime | None]:
        """The item's stored row, this process's counted scans of it that the row
        does not hold yet, and the earliest of those (None, 0, None: no such item)."""
        while not self._no_writer.is_set():
            await self._no_writer.wait()
        self._readers += 1
        self._no_readers.clear()
        try:
            row = await self._items.get((batch_id, serial, client))
            if row is None:
                return None, 0, None
            return row, self.unwritten(row["id"]), self._first.get(row["id"])
        finally:
            self._readers -= 1
            if not self._readers:
                self._no_readers.set()

    async def flush(self) -> None:
        """Write what is pending; on failure keep it (bounded) for the next attempt.
        A write under way when the task is cancelled (the stop) is finished first:
        cancelled mid-statement it would be rolled back, and its scans lost."""
        if not self._pending and not self._unsure:
            return
        self._no_writer.clear()  # new reads wait; those in flight end first
        try:
            await self._no_readers.wait()
            if self._unsure:
                await self._settle()
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            writing = asyncio.ensure_future(self._write(batch))
            cancelled = False
            while not writing.done():
                try:
                    await asyncio.wait({writing})
                except asyncio.CancelledError:
                    cancelled = True
            try:
                writing.result()
            except Unsure as unsure:
                self._unsure.append((unsure.xact_id, batch))  # still counted as unwritten
                if cancelled:
                    raise asyncio.CancelledError from None
                raise
            except Exception:
                self._pending = batch + self._pending  # still counted as unwritten
                self._trim()
                if cancelled:
                    raise asyncio.CancelledError from None
                raise
            self._forget(batch)
            if cancelled:
                raise asyncio.CancelledError
        finally:
            self._no_writer.set()

    async def _write(self, batch: list[Scan]) -> None:
        """One transaction; `Unsure` when its COMMIT got no answer (then it may have
        committed), any other error when it surely did not."""
        async with self.pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                xact_id = await connection.fetchval(XACT_ID)
                await _statements(connection, batch, self.zone)
            except BaseException:
                with contextlib.suppress(Exception):
                    await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except Exception as exc:
                raise Unsure(xact_id) from exc

    async def _settle(self) -> None:
        """What became of the batches whose COMMIT got no answer: committed ones are
        forgotten (written), aborted ones written again; one still in progress (the
        server has not finished it) is asked about at the next write."""
        async with self.pool.acquire() as connection:
            for unsure in list(self._unsure):
                xact_id, batch = unsure
                status = await connection.fetchval(XACT_STATUS, xact_id)
                if status == "in progress":
                    continue
                self._unsure.remove(unsure)
                if status == "committed":
                    self._forget(batch)
                else:  # aborted (or, past all memory, unknown): not written
                    self._pending = batch + self._pending
                log.info("scans_commit_settled", scans=len(batch), committed=status == "committed")

    def _forget(self, written: list[Scan]) -> None:
        for scan in written:
            if scan.counted:
                left = self._unwritten[scan.item_id] - 1
                if left:
                    self._unwritten[scan.item_id] = left
                else:
                    del self._unwritten[scan.item_id]
                    self._first.pop(scan.item_id, None)

    def _trim(self) -> None:
        excess = len(self._pending) - MAX_KEPT
        if excess > 0:
            dropped, self._pending = self._pending[:excess], self._pending[excess:]
            self._forget(dropped)
            self.dropped += excess
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
