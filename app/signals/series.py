"""The daily series (SPEC §10): per category × prefecture × source, one day at a time.

A day is counted once, from that day's rows only (indexed by their time or
date), and stored; detectors read the stored days, so no day is ever counted
twice and nothing re-reads all scans. Dated records (inspections, recalls,
complaints) count as the registry holds them when the day is computed (01:00
the next day, or a re-run with `qcr signals run --date`); a re-run over the same
data gives the same series, and a signal keeps the history it was judged on.

Anonymous sources (scans, suspicious codes, low ratings, anonymous complaints)
count distinct clients, not requests: one per IPv4 address, one per IPv6 /48.
Scans and feedback store two keyed hashes (app/codes/context.py): `client_hash`
per address or /64 (SPEC §8: rate limits, `suspicious`) and `client_net`, the
/48 of an IPv6 client (null for IPv4); the series count the latter, falling back
to the former. (Rows stored before migration 0504 have no /48 and count per /64.)
Anonymous complaints store their /48 hash directly.

Scans are not read at night: the scan writer adds each batch to per-day
counters (app/codes/daycounts.py), and the scans series of a day is its rows
there, one per key. Suspicious codes are looked for among the codes with more
kept clients than the threshold (`item_scan_clients.ordinal`), then judged on
their scans as before. Days that began before the counters existed
(`scan_counters.since`, migration 0701) are counted from the day's scans by the
same definition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes.daycounts import (
    ITEM_JOIN,
    LOCAL_DAY,
    PRODUCT_CATEGORY,
    RECORDS,
    REGION,
    SCAN_CLIENT,
    SCANS_OF_WINDOW,
)
from app.codes.models import ScanCounters
from app.signals.models import SeriesDay

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The days `first`..`last` in the registry's time zone, and their instants."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(0), self.zone)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0), self.zone)

    def params(self, threshold: int) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "first": self.first,
            "last": self.last,
            "zone": self.zone.key,
            "threshold": threshold,
        }


FEEDBACK_CLIENT = "coalesce(f.client_net, f.client_hash)"

_SCAN_SERIES = """
SELECT day, category, region, clients AS value, scans AS events, 0 AS trials,
       to_jsonb(items) AS records
FROM """
# Days before the counters (scan_counters.since): from the day's scans.
SCANS = f"{_SCAN_SERIES}({SCANS_OF_WINDOW}) AS counted"
# Later days: the scan writer's counters, one row per key (app/codes/daycounts.py).
COUNTED_SCANS = f"{_SCAN_SERIES}scan_day_counts WHERE day BETWEEN :first AND :last"


DAY_SCANS = "s.scanned_at >= :start AND s.scanned_at < :end AND s.agent <> 'bot'"


def _suspicious(touched: str) -> str:
    """Codes scanned that day that are suspicious by its end (more distinct clients
    than the threshold, SPEC §6): the value is the clients that scanned them that
    day. `touched`: the codes to look at and the days they were scanned."""
    return f"""
WITH touched AS ({touched}), flagged AS (
    SELECT t.item_id, t.day FROM touched t
    WHERE (SELECT count(DISTINCT x.client_hash) FROM item_scans x
           WHERE x.item_id = t.item_id AND x.agent <> 'bot'
             AND x.scanned_at < ((t.day + 1)::timestamp AT TIME ZONE :zone)) > :threshold
)
SELECT f.day, {PRODUCT_CATEGORY} AS category, {REGION} AS region,
       count(DISTINCT {SCAN_CLIENT}) AS value, count(DISTINCT s.item_id) AS events,
       0 AS trials,
       to_jsonb((array_agg(DISTINCT i.id::text))[1:{RECORDS}]) AS records
FROM item_scans s JOIN flagged f ON f.item_id = s.item_id AND {LOCAL_DAY} = f.day {ITEM_JOIN}
WHERE {DAY_SCANS}
GROUP BY 1, 2, 3
"""


# Every code scanned in the window.
SUSPICIOUS = _suspicious(
    f"SELECT s.item_id, {LOCAL_DAY} AS day FROM item_scans s WHERE {DAY_SCANS} GROUP BY 1, 2"
)
# Only the codes with more kept clients than the threshold ever (one numbered
# threshold + 1, found by its index), each looked up in the window's scans by
# its own index: not a pass over the day's scans.
COUNTED_SUSPICIOUS = _suspicious(
    f"""SELECT k.item_id, t.day FROM item_scan_clients k
    CROSS JOIN LATERAL (SELECT DISTINCT {LOCAL_DAY} AS day FROM item_scans s
                        WHERE s.item_id = k.item_id AND {DAY_SCANS}) AS t
    WHERE k.ordinal = :threshold + 1"""
)

LOW_RATINGS = f"""
SELECT (f.created_at AT TIME ZONE :zone)::date AS day, {PRODUCT_CATEGORY} AS category,
       left(o.region_code, 4) AS region,
       count(DISTINCT {FEEDBACK_CLIENT}) AS value, count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT f.id::text))[1:{RECORDS}]) AS records
FROM feedback f
JOIN products p ON p.id = f.product_id
JOIN organizations o ON o.id = f.organization_id
WHERE f.created_at >= :start AND f.created_at < :end AND f.rating <= 2
GROUP BY 1, 2, 3
"""

COMPLAINTS = f"""
SELECT c.received_on AS day, {PRODUCT_CATEGORY} AS category, left(c.region_code, 4) AS region,
       count(DISTINCT coalesce(encode(c.client_hash, 'hex'), c.id::text)) AS value,
       count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT c.id::text))[1:{RECORDS}]) AS records
FROM complaints c
JOIN organizations o ON o.id = c.organization_id
LEFT JOIN products p ON p.gtin = c.gtin
WHERE c.received_on BETWEEN :first AND :last
GROUP BY 1, 2, 3
"""

INSPECTIONS = f"""
SELECT n.inspected_on AS day, {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(*) FILTER (WHERE n.result = 'fail') AS value,
       count(*) FILTER (WHERE n.result = 'fail') AS events, count(*) AS trials,
       to_jsonb((array_agg(DISTINCT n.id::text) FILTER (WHERE n.result = 'fail'))[1:{RECORDS}])
           AS records
FROM inspections n
JOIN organizations o ON o.id = n.organization_id
LEFT JOIN products p ON p.gtin = n.gtin
WHERE n.inspected_on BETWEEN :first AND :last
GROUP BY 1, 2, 3
"""

RECALLS = f"""
SELECT r.initiated_on AS day, {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(*) AS value, count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT r.id::text))[1:{RECORDS}]) AS records
FROM recalls r
JOIN organizations o ON o.id = r.organization_id
LEFT JOIN products p ON p.gtin = r.gtin
WHERE r.initiated_on BETWEEN :first AND :last
GROUP BY 1, 2, 3
"""

QUERIES = {
    "scans": SCANS,
    "suspicious": SUSPICIOUS,
    "low_ratings": LOW_RATINGS,
    "complaints": COMPLAINTS,
    "failed_inspections": INSPECTIONS,
    "recalls": RECALLS,
}


COUNTED = {"scans": COUNTED_SCANS, "suspicious": COUNTED_SUSPICIOUS}


async def first_counted_day(session: AsyncSession, zone: ZoneInfo) -> dt.date | None:
    """The first day that began after `scan_counters.since`: from it on, every
    scan of the day is in the scan writer's counters."""
    since: dt.datetime | None = await session.scalar(select(ScanCounters.since))
    if since is None:
        return None
    day = since.astimezone(zone).date()
    return day if Window(day, day, zone).start >= since else day + ONE_DAY


async def scan_counts(
    session: AsyncSession, source: str, window: Window, threshold: int
) -> list[dict[str, Any]]:
    """Days of scans (or of suspicious codes): from the scan writer's counters for
    the days it counted whole, from the scans table (by its time index) before."""
    counted = await first_counted_day(session, window.zone)
    parts = []
    if counted is None or window.first < counted:
        last = window.last if counted is None else min(window.last, counted - ONE_DAY)
        parts.append((QUERIES[source], Window(window.first, last, window.zone)))
    if counted is not None and window.last >= counted:
        parts.append(
            (COUNTED[source], Window(max(window.first, counted), window.last, window.zone))
        )
    found: list[dict[str, Any]] = []
    for statement, part in parts:
        rows = await session.execute(text(statement), part.params(threshold))
        found += [dict(row) for row in rows.mappings()]
    return found


async def counts(
    session: AsyncSession, source: str, window: Window, threshold: int
) -> list[dict[str, Any]]:
    if source in ("scans", "suspicious"):
        return await scan_counts(session, source, window, threshold)
    rows = await session.execute(text(QUERIES[source]), window.params(threshold))
    return [dict(row) for row in rows.mappings()]


async def compute_days(
    session: AsyncSession, first: dt.date, last: dt.date, zone: ZoneInfo, threshold: int
) -> int:
    """Count the days `first`..`last` of every source and store them (replacing a
    previous run of those days); one statement per source for the whole range."""
    window = Window(first, last, zone)
    await session.execute(delete(SeriesDay).where(SeriesDay.day.between(first, last)))
    stored = 0
    for source in QUERIES:
        found = await counts(session, source, window, threshold)
        rows = [r for r in found if r["value"] or r["trials"]]
        if rows:
            await session.execute(
                insert(SeriesDay),
                [
                    {
                        "day": r["day"],
                        "source": source,
                        "category": r["category"][:40],
                        "region": r["region"],
                        "value": r["value"],
                        "events": r["events"],
                        "trials": r["trials"],
                        "records": r["records"] or [],
                    }
                    for r in rows
                ],
            )
        stored += len(rows)
    return stored
