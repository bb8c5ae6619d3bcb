"""The scan writer's day counters (app/codes/daycounts.py) hold what the night's
statement over the stored scans computes (issue #15)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.codes import daycounts, scans
from app.codes.models import ItemCode, ItemScanClient
from app.core.database import asyncpg_dsn
from app.core.settings import Settings
from app.signals import series
from tests.codes.helpers import item_codes
from tests.conftest import DatabaseUnderTest
from tests.factories import committed_key, committed_organization

ZONE = Settings(QCR_TIMEZONE="Asia/Shanghai").zone
DAY = dt.date(2026, 11, 20)
NEXT = DAY + dt.timedelta(days=1)
WINDOW = series.Window(DAY, NEXT, ZONE)
THRESHOLD = 5


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), ZONE)


async def _items(client: AsyncClient, engine: AsyncEngine) -> dict[str, int]:
    """Two codes of a C38 product in 3301 and one of a C14 product in 3302."""
    headers = await committed_key(engine, "regulator")
    here = await committed_organization(engine, region_code="330106")
    there = await committed_organization(engine, region_code="330212")
    async with AsyncSession(engine) as session:
        for uscc, industry in ((here, "C3854"), (there, "C1401")):
            await session.execute(
                text("UPDATE organizations SET industry_code = :i WHERE uscc = :u"),
                {"i": industry, "u": uscc},
            )
        await session.commit()
    _, near = await item_codes(client, headers, here, count=2)
    _, far = await item_codes(client, headers, there, count=1)
    async with AsyncSession(engine) as session:
        ids = {
            serial: id
            for id, serial in (await session.execute(select(ItemCode.id, ItemCode.serial)))
        }
    a, b, c = (ids[path.rsplit("/", 1)[1]] for path in (*near, *far))
    return {"a": a, "b": b, "c": c}


def _batches(item: dict[str, int]) -> list[list[scans.Scan]]:
    """Two flushes: an IPv4 client twice on the day, three /64s of one IPv6 /48,
    a bot, the local day's last second and the next day's first."""
    a, b, c = item["a"], item["b"], item["c"]
    net = b"/48-one"
    first = [
        scans.Scan(a, at(DAY, 12), b"v4-1", "mobile"),
        scans.Scan(a, at(DAY, 12, 1), b"v6-64-1", "mobile", net),
        scans.Scan(b, at(DAY, 13), b"v6-64-2", "desktop", net),
        scans.Scan(c, at(DAY, 23, 59, 59), b"v4-1", "mobile"),
        scans.Scan(a, at(DAY, 14), b"crawler", "bot"),
    ]
    second = [
        scans.Scan(a, at(DAY, 15), b"v4-1", "mobile"),  # the same client, a later flush
        scans.Scan(b, at(DAY, 23, 59, 59), b"v6-64-3", "mobile", net),
        scans.Scan(a, at(NEXT, 0, 0, 0), b"v4-1", "mobile"),
        *(scans.Scan(a, at(DAY, 18, n), f"v4-{n}".encode(), "mobile") for n in range(2, 7)),
    ]
    return [first, second]


async def _rows(session: AsyncSession, statement: str, window: series.Window) -> list[Any]:
    found = await session.execute(text(statement), window.params(THRESHOLD))
    return sorted(tuple(row) for row in found)


async def test_the_day_counters_equal_the_count_of_the_stored_scans(
    committed_client: AsyncClient,
    engine: AsyncEngine,
    test_database: DatabaseUnderTest,
) -> None:
    item = await _items(committed_client, engine)
    pool = await asyncpg.create_pool(asyncpg_dsn(test_database.service_url), min_size=1, max_size=2)
    buffer = scans.ScanBuffer(pool, ZONE)
    try:
        for batch in _batches(item):
            for scan in batch:
                buffer.add(scan)
            await buffer.flush()
    finally:
        await pool.close()
    async with AsyncSession(engine) as session:
        counted = await _rows(session, series.COUNTED_SCANS, WINDOW)
        stored = await _rows(session, series.SCANS, WINDOW)
        assert counted == stored
        by_key = {
            (day, category, region): (v, e, r) for day, category, region, v, e, _, r in counted
        }
        ab = sorted(str(item[k]) for k in "ab")
        # The day: v4-1, v4-2..6 and the /48 are 7 clients; 10 scans, the bot not counted.
        assert by_key[(DAY, "C38", "3301")] == (7, 10, ab)
        assert by_key[(DAY, "C14", "3302")] == (1, 1, [str(item["c"])])
        assert by_key[(NEXT, "C38", "3301")] == (1, 1, [str(item["a"])])
        assert len(by_key) == 3
        # Suspicious codes: a has 7 distinct /64 clients by the end of the day (> 5).
        suspicious = await _rows(session, series.COUNTED_SUSPICIOUS, WINDOW)
        assert suspicious == await _rows(session, series.SUSPICIOUS, WINDOW)
        assert [(day, v, e) for day, _, _, v, e, _, _ in suspicious] == [(DAY, 7, 1), (NEXT, 1, 1)]
        ordinals = await session.scalars(
            select(ItemScanClient.ordinal)
            .where(ItemScanClient.item_id == item["a"])
            .order_by(ItemScanClient.ordinal)
        )
        assert list(ordinals) == [1, 2, 3, 4, 5, 6, 7]
        # Stored scans fill the same counters (what the benchmark's loader does).
        before = await _rows(session, "SELECT * FROM scan_day_counts", WINDOW)
        await session.execute(text("DELETE FROM scan_day_counts"))
        await session.execute(text("DELETE FROM scan_day_clients"))
        for statement in daycounts.FILL_FROM_SCANS:
            await session.execute(text(statement), WINDOW.params(THRESHOLD))
        assert await _rows(session, "SELECT * FROM scan_day_counts", WINDOW) == before
        await session.rollback()


async def _since(session: AsyncSession, instant: dt.datetime | None) -> None:
    """Set `scan_counters.since` (or leave none: a committed test's clean-up empties it)."""
    await session.execute(text("DELETE FROM scan_counters"))
    if instant is not None:
        await session.execute(text("INSERT INTO scan_counters VALUES (:s)"), {"s": instant})


async def test_days_before_the_counters_are_counted_from_the_scans(
    session: AsyncSession,
) -> None:
    """`scan_counters.since` at the day's first instant: that day is counted; one
    second later: the next day is the first."""
    midnight = at(NEXT, 0)
    await _since(session, midnight)
    assert await series.first_counted_day(session, ZONE) == NEXT
    later = midnight + dt.timedelta(seconds=1)
    await _since(session, later)
    assert await series.first_counted_day(session, ZONE) == NEXT + dt.timedelta(days=1)
    await _since(session, None)
    assert await series.first_counted_day(session, ZONE) is None


async def test_a_window_across_the_first_counted_day_reads_both(
    session: AsyncSession,
) -> None:
    """The day before `since` from the scans, the days after from the counters."""
    await _since(session, at(NEXT, 0))
    for day, clients in ((DAY, 3), (NEXT, 4)):
        await session.execute(
            text(
                "INSERT INTO scan_day_counts (day, category, region, clients, scans, items) "
                "VALUES (:day, 'C38', '3301', :n, :n, '{}')"
            ),
            {"day": day, "n": clients},
        )
    found = await series.scan_counts(session, "scans", WINDOW, THRESHOLD)
    # No scans are stored: the day before `since` is empty whatever its counters say.
    assert [(r["day"], r["value"]) for r in found] == [(NEXT, 4)]


async def test_the_night_drops_the_counted_clients_of_days_before_yesterday(
    session: AsyncSession,
) -> None:
    for back in (3, 2, 1, 0):
        await session.execute(
            text(
                "INSERT INTO scan_day_clients (day, category, region, client) "
                "VALUES (:day, 'C38', '3301', 'c')"
            ),
            {"day": NEXT - dt.timedelta(days=back)},
        )
    assert await daycounts.forget_clients(session, NEXT) == 2
    left = await session.scalars(text("SELECT day FROM scan_day_clients ORDER BY day"))
    assert list(left) == [DAY, NEXT]
