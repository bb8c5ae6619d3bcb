"""The day's scans counted as the scan writer stores them (SPEC §10, issue #15).

The nightly signal series need, per local day (`QCR_TIMEZONE`) × product
category × prefecture, the distinct clients that scanned (one per IPv4 address,
one per IPv6 /48: `coalesce(client_net, client_hash)`), the scans, and the first
`RECORDS` item ids behind them. Counting that from `item_scans` at night means
joining and sorting the whole day's scans; instead each batch of the scan
writer (app/codes/scans.py `write`) adds to two tables in one more statement:

- `scan_day_clients`: one row per (day, category, prefecture, client) seen —
  only there to tell a new client from one already counted (ON CONFLICT DO
  NOTHING ... RETURNING); the night never reads it, and drops the rows of the
  days before yesterday (`forget_clients`: a scan is written within seconds of
  its day, so those days take no more scans);
- `scan_day_counts`: one row per (day, category, prefecture): `clients` (the
  rows the batch added above), `scans`, `items` (the `RECORDS` smallest item ids
  as text, kept by merging: the smallest of a union is the smallest of the
  smallest), which the night reads as they are — O(keys), not O(scans).

A scan is counted under the category and prefecture its product has when the
batch is written (the night's statement used the ones it had at night: they
differ only for a product re-categorised, or a producer moved, on that day).

`scan_counters.since`: the instant from which every scan written was counted
(migration 0701). A day that began before it is counted from `item_scans` by
the same definition (`SCANS_OF_WINDOW`, which is also what fills the counters
of stored scans: the benchmark's loader, the tests).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes.models import ScanDayClient

# The product category of the signals: the product's own, else the producer's
# industry class (SPEC §10). `p` products, `o` organizations.
PRODUCT_CATEGORY = "coalesce(p.category, left(o.industry_code, 3), 'unclassified')"
REGION = "left(o.region_code, 4)"
RECORDS = 50  # ids kept per row: the records behind a signal, bounded

ITEM_JOIN = """
JOIN item_codes i ON i.id = s.item_id
JOIN batches b ON b.id = i.batch_id
JOIN products p ON p.id = b.product_id
JOIN organizations o ON o.id = p.organization_id
"""

# The writer's statement: $1 item ids, $2 local days, $3 clients, of the batch's
# counted (non-bot) scans. Keys in order, so concurrent writers never deadlock;
# every client row is inserted before any count row is touched (the counts wait
# for the aggregate of the inserted clients).
COUNT_BATCH = f"""
WITH batch AS (
    SELECT s.day, {PRODUCT_CATEGORY} AS category, {REGION} AS region, s.item_id, s.client
    FROM unnest($1::bigint[], $2::date[], $3::bytea[]) AS s(item_id, day, client) {ITEM_JOIN}
), fresh AS (
    INSERT INTO scan_day_clients (day, category, region, client)
    SELECT DISTINCT day, category, region, client FROM batch ORDER BY 1, 2, 3, 4
    ON CONFLICT DO NOTHING
    RETURNING day, category, region
), new_clients AS (
    SELECT day, category, region, count(*) AS n FROM fresh GROUP BY 1, 2, 3
)
INSERT INTO scan_day_counts AS c (day, category, region, clients, scans, items)
SELECT s.day, s.category, s.region, coalesce(max(f.n), 0), count(*),
       (array_agg(DISTINCT s.item_id::text))[1:{RECORDS}]
FROM batch s LEFT JOIN new_clients f USING (day, category, region)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (day, category, region) DO UPDATE
SET clients = c.clients + excluded.clients,
    scans = c.scans + excluded.scans,
    items = (SELECT array_agg(x ORDER BY x)
             FROM (SELECT DISTINCT x FROM unnest(c.items || excluded.items) AS u(x)
                   ORDER BY x LIMIT {RECORDS}) AS kept)
"""

LOCAL_DAY = "(s.scanned_at AT TIME ZONE :zone)::date"
SCAN_CLIENT = "coalesce(s.client_net, s.client_hash)"  # per IPv4 address or IPv6 /48

# The counters' definition over stored scans of [:start, :end), local days in
# :zone: what the writer's counters add up to.
SCANS_OF_WINDOW = f"""
SELECT {LOCAL_DAY} AS day, {PRODUCT_CATEGORY} AS category, {REGION} AS region,
       count(DISTINCT {SCAN_CLIENT}) AS clients, count(*) AS scans,
       (array_agg(DISTINCT i.id::text))[1:{RECORDS}] AS items
FROM item_scans s {ITEM_JOIN}
WHERE s.scanned_at >= :start AND s.scanned_at < :end AND s.agent <> 'bot'
GROUP BY 1, 2, 3
"""

# Counters of stored scans (no counters of that window yet): clients, then counts.
FILL_FROM_SCANS = [
    f"""INSERT INTO scan_day_clients (day, category, region, client)
    SELECT DISTINCT {LOCAL_DAY}, {PRODUCT_CATEGORY}, {REGION}, {SCAN_CLIENT}
    FROM item_scans s {ITEM_JOIN}
    WHERE s.scanned_at >= :start AND s.scanned_at < :end AND s.agent <> 'bot'""",
    f"""INSERT INTO scan_day_counts (day, category, region, clients, scans, items)
    {SCANS_OF_WINDOW}""",
]


async def forget_clients(session: AsyncSession, today: dt.date) -> int:
    """Drop the counted clients of the days before yesterday; the rows dropped."""
    result = await session.execute(
        delete(ScanDayClient).where(ScanDayClient.day < today - dt.timedelta(days=1))
    )
    return int(getattr(result, "rowcount", 0) or 0)
