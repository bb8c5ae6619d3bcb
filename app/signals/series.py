"""The daily series (SPEC §10): per category × prefecture × source, one day at a time.

A day is counted once, from that day's rows only (indexed by their time or
date), and stored; detectors read the stored days, so no day is ever counted
twice and nothing re-reads all scans. Dated records (inspections, recalls,
complaints) count as the registry holds them when the day is computed (01:00
the next day, or a re-run with `qcr signals run --date`); a re-run over the same
data gives the same series, and a signal keeps the history it was judged on.

Anonymous sources (scans, suspicious codes, low ratings) count distinct clients
— the keyed client hash the resolver stores (SPEC §6) — not requests. A client
is one address for IPv4; IPv6 clients are grouped per /48 where the scan
pipeline hashes the /48 (`scan_counts` is the one function to repoint).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.signals.models import SeriesDay

PRODUCT_CATEGORY = "coalesce(p.category, left(o.industry_code, 3), 'unclassified')"
ORG_CATEGORY = "coalesce(left(o.industry_code, 3), 'unclassified')"
RECORDS = 50  # ids kept per row: the records behind a signal, bounded


@dataclass(frozen=True)
class Window:
    day: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, day: dt.date, zone: ZoneInfo) -> Window:
        start = dt.datetime.combine(day, dt.time(0), zone)
        return cls(day, start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone))


_ITEM_JOIN = """
JOIN item_codes i ON i.id = s.item_id
JOIN batches b ON b.id = i.batch_id
JOIN products p ON p.id = b.product_id
JOIN organizations o ON o.id = p.organization_id
"""

SCANS = f"""
SELECT {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(DISTINCT s.client_hash) AS value, count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT i.id::text))[1:{RECORDS}]) AS records
FROM item_scans s {_ITEM_JOIN}
WHERE s.scanned_at >= :start AND s.scanned_at < :end AND s.agent <> 'bot'
GROUP BY 1, 2
"""

# Codes scanned that day that are suspicious by its end (more distinct clients
# than the threshold, SPEC §6): the value is the clients that scanned them that day.
SUSPICIOUS = f"""
WITH touched AS (
    SELECT item_id FROM item_scans
    WHERE scanned_at >= :start AND scanned_at < :end AND agent <> 'bot'
    GROUP BY item_id
), flagged AS (
    SELECT t.item_id FROM touched t
    WHERE (SELECT count(DISTINCT x.client_hash) FROM item_scans x
           WHERE x.item_id = t.item_id AND x.agent <> 'bot' AND x.scanned_at < :end) > :threshold
)
SELECT {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(DISTINCT s.client_hash) AS value, count(DISTINCT s.item_id) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT i.id::text))[1:{RECORDS}]) AS records
FROM item_scans s JOIN flagged f ON f.item_id = s.item_id {_ITEM_JOIN}
WHERE s.scanned_at >= :start AND s.scanned_at < :end AND s.agent <> 'bot'
GROUP BY 1, 2
"""

LOW_RATINGS = f"""
SELECT {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(DISTINCT f.client_hash) AS value, count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT f.id::text))[1:{RECORDS}]) AS records
FROM feedback f
JOIN products p ON p.id = f.product_id
JOIN organizations o ON o.id = f.organization_id
WHERE f.created_at >= :start AND f.created_at < :end AND f.rating <= 2
GROUP BY 1, 2
"""

COMPLAINTS = f"""
SELECT {PRODUCT_CATEGORY} AS category, left(c.region_code, 4) AS region,
       count(DISTINCT coalesce(encode(c.client_hash, 'hex'), c.id::text)) AS value,
       count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT c.id::text))[1:{RECORDS}]) AS records
FROM complaints c
JOIN organizations o ON o.id = c.organization_id
LEFT JOIN products p ON p.gtin = c.gtin
WHERE c.received_on = :day
GROUP BY 1, 2
"""

INSPECTIONS = f"""
SELECT {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(*) FILTER (WHERE n.result = 'fail') AS value,
       count(*) FILTER (WHERE n.result = 'fail') AS events, count(*) AS trials,
       to_jsonb((array_agg(DISTINCT n.id::text) FILTER (WHERE n.result = 'fail'))[1:{RECORDS}])
           AS records
FROM inspections n
JOIN organizations o ON o.id = n.organization_id
LEFT JOIN products p ON p.gtin = n.gtin
WHERE n.inspected_on = :day
GROUP BY 1, 2
"""

RECALLS = f"""
SELECT {PRODUCT_CATEGORY} AS category, left(o.region_code, 4) AS region,
       count(*) AS value, count(*) AS events, 0 AS trials,
       to_jsonb((array_agg(DISTINCT r.id::text))[1:{RECORDS}]) AS records
FROM recalls r
JOIN organizations o ON o.id = r.organization_id
LEFT JOIN products p ON p.gtin = r.gtin
WHERE r.initiated_on = :day
GROUP BY 1, 2
"""

QUERIES = {
    "scans": SCANS,
    "suspicious": SUSPICIOUS,
    "low_ratings": LOW_RATINGS,
    "complaints": COMPLAINTS,
    "failed_inspections": INSPECTIONS,
    "recalls": RECALLS,
}


async def scan_counts(
    session: AsyncSession, source: str, window: Window, threshold: int
) -> list[dict[str, Any]]:
    """One day of scans (or of suspicious codes) from the scans table, by its
    time index. The one place to repoint when scans are counted elsewhere."""
    params = {"start": window.start, "end": window.end, "threshold": threshold}
    rows = await session.execute(text(QUERIES[source]), params)
    return [dict(row) for row in rows.mappings()]


async def counts(
    session: AsyncSession, source: str, window: Window, threshold: int
) -> list[dict[str, Any]]:
    if source in ("scans", "suspicious"):
        return await scan_counts(session, source, window, threshold)
    params: dict[str, Any] = {"start": window.start, "end": window.end}
    if source in ("complaints", "failed_inspections", "recalls"):
        params = {"day": window.day}
    rows = await session.execute(text(QUERIES[source]), params)
    return [dict(row) for row in rows.mappings()]


async def compute_day(session: AsyncSession, day: dt.date, zone: ZoneInfo, threshold: int) -> int:
    """Count one day of every source and store it (replacing a previous run of that day)."""
    window = Window.of(day, zone)
    await session.execute(delete(SeriesDay).where(SeriesDay.day == day))
    stored = 0
    for source in QUERIES:
        rows = [
            r for r in await counts(session, source, window, threshold) if r["value"] or r["trials"]
        ]
        if rows:
            await session.execute(
                insert(SeriesDay),
                [
                    {
                        "day": day,
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
