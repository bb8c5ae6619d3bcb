"""Item scans: no lost increments under parallel scans; suspicious after many clients."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.codes import scans
from app.codes.context import agent_class
from app.codes.models import ItemCode, ItemScan
from app.core.database import asyncpg_dsn
from app.core.settings import Settings
from tests.codes.helpers import committed_item_code, item_codes
from tests.conftest import DatabaseUnderTest
from tests.waiting import wait_for

JSON = {"Accept": "application/json"}
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"}


async def test_parallel_scans_lose_no_increment(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    _, path = await committed_item_code(committed_client, engine)
    # Rounds of 12 at once: as many as the test engine's pool serves without a
    # wait (a request holds its connection), so every scan really runs in parallel.
    rounds, parallel = 3, 12
    scans = rounds * parallel
    seen: list[int] = []
    for _ in range(rounds):
        responses = await asyncio.gather(
            *(committed_client.get(path, headers=JSON | PHONE) for _ in range(parallel))
        )
        assert [r.status_code for r in responses] == [200] * parallel
        seen += [r.json()["item"]["scan_count"] for r in responses]
    # Each scan saw its own count: the increments were serialised, none lost.
    assert sorted(seen) == list(range(1, scans + 1))
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(ItemCode.scan_count)) == scans
        assert await session.scalar(select(func.count()).select_from(ItemScan)) == scans
        first = await session.scalar(select(ItemCode.first_scanned_at))
        earliest = await session.scalar(select(func.min(ItemScan.scanned_at)))
    assert first is not None and earliest is not None and first <= earliest


async def _one_code(client: AsyncClient, engine: AsyncEngine) -> Any:
    """A committed item code: its id, batch and serial."""
    await committed_item_code(client, engine)
    async with AsyncSession(engine) as session:
        return (
            await session.execute(select(ItemCode.id, ItemCode.batch_id, ItemCode.serial))
        ).one()


async def test_buffered_counts_are_exact_while_the_buffer_is_written(
    committed_client: AsyncClient,
    engine: AsyncEngine,
    test_database: DatabaseUnderTest,
    test_settings: Settings,
) -> None:
    """A serving process (SPEC §6 Freshness): each scan is told the stored count plus
    this process's unwritten scans plus itself, also when writes of the buffer run
    between reads, so no two scans are told the same number."""
    item = await _one_code(committed_client, engine)
    pool = await asyncpg.create_pool(asyncpg_dsn(test_database.service_url), min_size=1, max_size=8)
    buffer = scans.ScanBuffer(pool, test_settings.zone)

    async def scan() -> int:
        row, unwritten, _ = await buffer.read_item(item.batch_id, item.serial, b"c")
        buffer.add(scans.Scan(row["id"], dt.datetime.now(dt.UTC), b"c", "mobile"))
        return int(row["scan_count"]) + unwritten + 1

    seen: list[int] = []
    try:
        for _ in range(10):  # reads on both sides of a write, and during it
            answers = await asyncio.gather(
                *(scan() for _ in range(6)), buffer.flush(), *(scan() for _ in range(6))
            )
            seen += [n for n in answers if n is not None]
        await buffer.flush()
    finally:
        await pool.close()
    assert sorted(seen) == list(range(1, 121))
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(ItemCode.scan_count)) == 120


async def test_a_write_under_way_when_the_writer_stops_is_finished(
    committed_client: AsyncClient,
    engine: AsyncEngine,
    test_database: DatabaseUnderTest,
    test_settings: Settings,
) -> None:
    """The stop's drain (SIGTERM cancels the writer) finishes the batch being
    written instead of cancelling its statements, which would lose its scans."""
    item = await _one_code(committed_client, engine)
    dsn = asyncpg_dsn(test_database.service_url)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    holder = await asyncpg.connect(dsn)
    buffer = scans.ScanBuffer(pool, test_settings.zone)
    try:
        locked = holder.transaction()
        await locked.start()
        await holder.execute("SELECT id FROM item_codes WHERE id = $1 FOR UPDATE", item.id)
        for n in range(3):
            buffer.add(scans.Scan(item.id, dt.datetime.now(dt.UTC), bytes([n]), "mobile"))
        writer = asyncio.create_task(buffer.run())

        async def waiting_for_the_lock() -> bool:
            query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
            return bool(await holder.fetchval(query))

        await wait_for(waiting_for_the_lock, "the batch's write waiting for the code's lock")
        writer.cancel()
        await asyncio.sleep(0.2)
        assert not writer.done()  # still writing the batch
        await locked.rollback()
        await asyncio.gather(writer, return_exceptions=True)
    finally:
        await holder.close()
        await pool.close()
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(ItemScan)) == 3
        assert await session.scalar(select(ItemCode.scan_count)) == 3


async def _client_from(app: FastAPI, address: str) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _scan_from(app: FastAPI, address: str, path: str) -> dict[str, object]:
    async for client in _client_from(app, address):
        response = await client.get(path, headers=JSON | PHONE)
        assert response.status_code == 200
        item: dict[str, object] = response.json()["item"]
        return item
    raise AssertionError("unreachable")


async def test_more_distinct_clients_than_the_threshold_is_suspicious(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, count=2)
    threshold = 5
    for n in range(threshold):
        item = await _scan_from(app, f"198.51.100.{n + 1}", paths[0])
        # The same client again does not add a client.
        item = await _scan_from(app, f"198.51.100.{n + 1}", paths[0])
    assert item["suspicious"] is False
    assert item["scan_count"] == 2 * threshold
    item = await _scan_from(app, "203.0.113.99", paths[0])
    assert item["suspicious"] is True
    html = (await client.get(paths[0])).text
    assert "可疑码提示" in html and "alert-suspicious" in html
    # Another code of the same batch is untouched.
    assert (await _scan_from(app, "198.51.100.1", paths[1]))["suspicious"] is False


async def test_bots_do_not_make_a_code_suspicious(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, count=1)
    for n in range(8):
        async for other in _client_from(app, f"192.0.2.{n + 1}"):
            response = await other.get(
                paths[0], headers=JSON | {"User-Agent": "Mozilla/5.0 (compatible; bingbot/2.0)"}
            )
            assert response.json()["item"]["suspicious"] is False
            assert response.json()["item"]["scan_count"] == 0


def test_user_agent_classes() -> None:
    assert agent_class(None) == "other"
    assert agent_class("curl/8.5.0") == "other"
    assert agent_class(PHONE["User-Agent"]) == "mobile"
    assert agent_class("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger") == (
        "mobile"
    )
    assert agent_class("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0") == "desktop"
    assert agent_class("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15") == (
        "desktop"
    )
    assert agent_class("Mozilla/5.0 (compatible; Googlebot/2.1)") == "bot"
    assert agent_class("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0") == "bot"


async def test_one_ipv6_64_counts_as_one_client(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    """SPEC §8: six addresses of one /64 cannot flip a genuine code to suspicious."""
    _, paths = await item_codes(client, regulator, uscc, count=1)
    for n in range(8):
        item = await _scan_from(app, f"2001:db8:77:1::{n + 1:x}", paths[0])
    assert item["suspicious"] is False
    assert item["scan_count"] == 8


class _AnswerLost:
    """A pool whose next transaction's COMMIT gets no answer: after committing it
    (`committed=True`: the server committed, the reply was lost) or instead of it
    (the connection died before the server committed)."""

    def __init__(self, pool: asyncpg.Pool, *, committed: bool) -> None:
        self.pool, self.committed, self.armed = pool, committed, True
        outer = self

        class Held:
            def __init__(self, connection: Any) -> None:
                self.connection = connection

            def __getattr__(self, name: str) -> Any:
                return getattr(self.connection, name)

            def transaction(self) -> Any:
                real = self.connection.transaction()

                class Lost:
                    start, rollback = real.start, real.rollback

                    async def commit(self) -> None:
                        if not outer.armed:
                            await real.commit()
                            return
                        outer.armed = False
                        await (real.commit() if outer.committed else real.rollback())
                        raise ConnectionResetError("the connection closed as it committed")

                return Lost()

        self.held = Held

    def acquire(self) -> Any:
        outer = self

        class Acquired:
            async def __aenter__(self) -> Any:
                self.cm = outer.pool.acquire()
                return outer.held(await self.cm.__aenter__())

            async def __aexit__(self, *exc: object) -> None:
                await self.cm.__aexit__(*exc)

        return Acquired()


async def test_a_commit_without_an_answer_is_never_counted_twice_nor_lost(
    committed_client: AsyncClient,
    engine: AsyncEngine,
    test_database: DatabaseUnderTest,
    test_settings: Settings,
) -> None:
    """A batch whose COMMIT got no answer is settled by what PostgreSQL says of its
    transaction: committed, it is not written again; aborted, it is written once."""
    item = await _one_code(committed_client, engine)
    pool = await asyncpg.create_pool(asyncpg_dsn(test_database.service_url), min_size=1, max_size=2)
    try:
        for committed, expected in ((True, 3), (False, 6)):
            lossy = _AnswerLost(pool, committed=committed)
            buffer = scans.ScanBuffer(lossy, test_settings.zone)
            for n in range(3):
                buffer.add(scans.Scan(item.id, dt.datetime.now(dt.UTC), bytes([n]), "mobile"))
            with pytest.raises(scans.Unsure):
                await buffer.flush()
            assert buffer.unwritten(item.id) == 3  # shown to scanners until settled
            await buffer.flush()  # asks what became of it
            assert buffer.unwritten(item.id) == 0
            async with AsyncSession(engine) as session:
                assert await session.scalar(select(ItemCode.scan_count)) == expected
                stored = await session.scalar(select(func.count()).select_from(ItemScan))
                assert stored == expected
    finally:
        await pool.close()


async def test_a_read_counts_what_its_snapshot_did_not_see_stored(
    committed_client: AsyncClient,
    engine: AsyncEngine,
    test_database: DatabaseUnderTest,
    test_settings: Settings,
) -> None:
    """Reads never wait for a write of the buffer: a read whose statement ran before a
    batch committed, and whose answer is used after, still counts that batch's scans
    (its snapshot did not see them stored); a read after the commit does not."""
    item = await _one_code(committed_client, engine)
    pool = await asyncpg.create_pool(asyncpg_dsn(test_database.service_url), min_size=1, max_size=4)
    gate = asyncio.Event()

    class HeldAnswers:
        """Runs each statement at once, hands its answer back once `gate` is open."""

        async def fetch(self, query: str, *args: Any) -> Any:
            rows = await pool.fetch(query, *args)
            await gate.wait()
            return rows

    buffer = scans.ScanBuffer(pool, test_settings.zone, reads=HeldAnswers())
    try:
        for n in range(3):
            buffer.add(scans.Scan(item.id, dt.datetime.now(dt.UTC), bytes([n]), "mobile"))
        early = asyncio.ensure_future(buffer.read_item(item.batch_id, item.serial, b"c"))
        await asyncio.sleep(0.2)  # its statement has run: the scans were pending
        await asyncio.wait_for(buffer.flush(), 5)  # not held back by the read in flight
        gate.set()
        row, unwritten, first = await early
        assert (row["scan_count"], unwritten) == (0, 3)
        assert first is not None
        row, unwritten, _ = await buffer.read_item(item.batch_id, item.serial, b"c")
        assert (row["scan_count"], unwritten) == (3, 0)
        assert not buffer._batches  # no read in flight needs the committed batch
    finally:
        await pool.close()
