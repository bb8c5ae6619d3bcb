"""Time the day's signal series and detectors at scale, and the console's signal list.

Creates a scratch database (dropped first if it exists) on the given server, or
on an embedded PostgreSQL under `--data-dir`, migrates it and bulk-loads a
synthetic registry with SQL `generate_series` (no API calls): N organizations
over 50 prefectures and 30 industry classes, P products (one batch each, ten
item codes per product), S scans on the measured day (most items scanned by two
clients, a thousand cloned codes by a hundred each), a year of inspections (2 %
failing), low ratings on the day, 35 days of history of every source in the
stored series (copied from the day itself, ±5 %: a steady state, where the day
raises few signals) and a year of counted days (the nights before). The scans
are rows, so what the scan writer stores with them is filled from them: the
codes' kept clients, numbered, and the day counters (`daycounts.FILL_FROM_SCANS`).
Then it times `app.signals.job.run_day` for the day — every source's series
(the scans from the day counters, or with `--from-scans` from the stored scans,
as before the counters), every detector, the signals raised — and the console's
list of open signals (`app.console.builtin.open_signals`: the query, the 28-day
charts of the 20 shown, the rendering) with thousands of open signals stored;
`--batch-cost` also times the scan writer's batches with and without the day
counters' statement.

    python scripts/bench/signals.py --organizations 1000000 --scans 10000000
    python scripts/bench/signals.py -n 100000 -s 1000000 --data-dir var/bench-signals
    python scripts/bench/signals.py -s 10000000 --reuse --scans-from 2000000  # extend, measure
    python scripts/bench/signals.py -s 10000000 --reuse --from-scans --batch-cost

The organizations' name index (n-grams, for search) is dropped before loading:
nothing here searches names, and building it for a million rows only adds time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.codes import daycounts, scans
from app.console import builtin
from app.core import embedded, migrations
from app.core.database import make_engine
from app.core.principal import SYSTEM
from app.core.settings import get_settings
from app.signals import job, rules, series
from app.signals.models import SeriesDay
from scripts.bench.publish_lists import _asyncpg_url, _sqlalchemy_url, recreate

PREFECTURES = 50
CLASSES = 30
CLONED = 1000  # codes scanned by CLONE_CLIENTS distinct clients each
CLONE_CLIENTS = 100
HISTORY_DAYS = 35
OPEN_SIGNALS = 5000

LOAD = [
    "DROP INDEX IF EXISTS ix_organizations_name_ngrams",
    # Organizations: prefecture 3301.. and industry class C13..C42 by number.
    """INSERT INTO organizations (uscc, org_code, name, region_code, industry_code)
    SELECT '91' || lpad(g::text, 16, '0'), lpad(g::text, 9, '0'), '企业' || g,
           (3300 + g % :prefectures)::text || '01', 'C' || (13 + (g / 7) % :classes)::text || '01'
    FROM generate_series(1, :organizations) AS g""",
    # Products of every k-th organization, one batch each.
    """INSERT INTO products (gtin, organization_id, name, execution_standard, factory_name,
        factory_address)
    SELECT lpad(row_number() OVER (ORDER BY o.id)::text, 14, '0'), o.id, '产品', 'GB 1-2020',
           '工厂', '地址'
    FROM organizations o
    ORDER BY o.id LIMIT :products""",
    """INSERT INTO batches (product_id, lot, produced_on)
    SELECT id, 'L1', CAST(:day AS date) - 60 FROM products""",
    """INSERT INTO item_codes (batch_id, serial)
    SELECT b.id, 'S' || n FROM batches b, generate_series(1, 10) AS n""",
]
SCANS = """
INSERT INTO item_scans (item_id, scanned_at, client_hash, agent)
SELECT CASE WHEN g < :cloned_scans THEN 1 + g % :cloned ELSE 1 + g % :items END,
       CAST(:start AS timestamptz) + make_interval(secs => (g * 7919) % 86400),
       decode(md5(CASE WHEN g < :cloned_scans THEN 'clone' || g
                  ELSE ((g % :items) * 2 + (g / :items) % 2)::text END), 'hex'),
       'mobile'
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
"""
# What the scan writer would have stored with the day's scans (app/codes/scans.py):
# each code's first distinct clients, numbered, and the day's counters, filled
# from the stored scans by the counters' own definition; the counters hold every
# scan from the day's start on (or, `--from-scans`, from now: the day is counted
# from its scans, as before the counters).
COUNTERS = [
    "TRUNCATE item_scan_clients, scan_day_counts, scan_day_clients",
    """INSERT INTO item_scan_clients (item_id, client_hash, ordinal)
    SELECT item_id, client_hash, n FROM (
        SELECT item_id, client_hash,
               row_number() OVER (PARTITION BY item_id ORDER BY min(scanned_at), client_hash) AS n
        FROM item_scans WHERE agent <> 'bot' GROUP BY item_id, client_hash
    ) AS kept WHERE n <= :kept""",
    *daycounts.FILL_FROM_SCANS,
]
SINCE = ["DELETE FROM scan_counters", "INSERT INTO scan_counters (since) VALUES (:since)"]
OTHERS = [
    # A year of inspections, 2 % failing, over every organization with a product.
    """INSERT INTO inspections (organization_id, report_no, authority, inspected_on,
        product_name, standard, result)
    SELECT p.organization_id, 'R' || p.gtin || '-' || n, '抽查局', CAST(:day AS date) - (n * 37 % 365),
           '产品', 'GB 1-2020', CASE WHEN (n + length(p.gtin)) % 50 = 0 THEN 'fail' ELSE 'pass' END
    FROM products p, generate_series(1, 2) AS n""",
    # Low ratings on the day.
    """INSERT INTO feedback (organization_id, product_id, rating, complaint, client_hash,
        created_at)
    SELECT p.organization_id, p.id, 1 + (g % 2), false, decode(md5('rate' || g), 'hex'),
           CAST(:start AS timestamptz) + make_interval(secs => g % 86400)
    FROM generate_series(1, :ratings) AS g
    JOIN products p ON p.gtin = lpad((1 + g % :products)::text, 14, '0')""",
    # History: the nights before counted, 35 days of scan series per key.
    """INSERT INTO signal_runs (day, rules_version, series_rows, detections)
    SELECT d::date, 's1', 0, 0 FROM generate_series(CAST(:day AS date) - CAST(:span AS int), CAST(:day AS date) - 1, interval '1 day') AS d""",
    # Open signals for the console to list (as earlier nights raised them).
    """INSERT INTO signals (key, method, source, category, region, day, level, rules_version,
        params, baseline, expected, observed, bound, statistic, p_value, records)
    SELECT 'bench:' || g, 'ears_c2', 'scans', 'C' || (13 + g % :classes)::text,
           (3300 + g % :prefectures)::text, CAST(:day AS date) - 1 - g % 30, 1 + g % 3, 's1', '{}', '{}',
           10, 20, 15, 4, 0.0001, '[]'
    FROM generate_series(1, :open_signals) AS g""",
    "ANALYZE",
]


def _sql(statement: str, values: dict[str, Any]) -> list[Any]:
    """`:name` parameters to asyncpg's `$n`: the statement, then its arguments."""
    names = sorted(values, key=len, reverse=True)
    args: list[Any] = []
    for name in names:
        if f":{name}" in statement:
            args.append(values[name])
            statement = statement.replace(f":{name}", f"${len(args)}")
    return [statement, *args]


def _values(args: argparse.Namespace, day: dt.date) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(), get_settings().zone)
    products = min(args.products, args.organizations)
    return {
        "end": start + dt.timedelta(days=1),
        "zone": get_settings().timezone,
        "kept": scans.CLIENTS_KEPT,
        "organizations": args.organizations,
        "products": products,
        "items": products * 10,
        "prefectures": PREFECTURES,
        "classes": CLASSES,
        "day": day,
        "start": start,
        "cloned": CLONED,
        "cloned_scans": CLONED * CLONE_CLIENTS,
        "ratings": args.ratings,
        "span": 400,
        "history": HISTORY_DAYS,
        "open_signals": OPEN_SIGNALS,
    }


async def _scans(connection: Any, values: dict[str, Any], first: int, total: int) -> None:
    """Scans number `first`..`total - 1` (a run can be extended: `--scans-from`)."""
    step = 1_000_000
    for low in range(first, total, step):
        high = min(low + step, total) - 1
        await connection.execute(*_sql(SCANS, values | {"first": low, "last": high}))
        print(f"  scans loaded: {high + 1:,}", file=sys.stderr, flush=True)


async def _counters(connection: Any, values: dict[str, Any]) -> float:
    began = time.perf_counter()
    for statement in COUNTERS:
        await connection.execute(*_sql(statement, values))
    await connection.execute("ANALYZE item_scan_clients, scan_day_counts, scan_day_clients")
    return time.perf_counter() - began


async def since(url: str, instant: dt.datetime) -> None:
    """`scan_counters.since`: the day is counted from the counters if it began after."""
    connection = await asyncpg.connect(_asyncpg_url(url))
    try:
        for statement in SINCE:
            await connection.execute(*_sql(statement, {"since": instant}))
    finally:
        await connection.close()


async def load(url: str, args: argparse.Namespace, day: dt.date) -> dict[str, float]:
    values = _values(args, day)
    timings = {}
    connection = await asyncpg.connect(_asyncpg_url(url))
    try:
        await connection.execute("SET synchronous_commit = off")
        await connection.execute("SET work_mem = '256MB'")  # the loader's sorts, not timed
        began = time.perf_counter()
        if args.reuse:  # only the scans from --scans-from on
            await _scans(connection, values, args.scans_from, args.scans)
            await connection.execute("ANALYZE item_scans")
            scanned = time.perf_counter() - began
            return {
                "scans": round(scanned, 1),
                "counters": round(await _counters(connection, values), 1),
            }
        for statement in LOAD:
            await connection.execute(*_sql(statement, values))
        timings["organizations_products_codes"] = time.perf_counter() - began
        began = time.perf_counter()
        await _scans(connection, values, 0, args.scans)
        timings["scans"] = time.perf_counter() - began
        timings["counters"] = await _counters(connection, values)
        began = time.perf_counter()
        for statement in OTHERS:
            await connection.execute(*_sql(statement, values))
        timings["history_and_rest"] = time.perf_counter() - began
    finally:
        await connection.close()
    return {k: round(v, 1) for k, v in timings.items()}


# Steady state: the 35 days before look like the day (±5 %), as if counted on
# the nights before; the day's own rows are removed again before it is timed.
HISTORY = text("""
INSERT INTO signal_series (day, source, category, region, value, events, trials, records)
SELECT d::date, s.source, s.category, s.region,
       greatest(0, round(s.value * (0.95 + 0.1 * abs(hashtext(s.category || s.region || d::text))
                                    % 100 / 100.0)))::int,
       s.events, s.trials, '[]'
FROM signal_series s,
     generate_series(CAST(:day AS date) - CAST(:days AS int), CAST(:day AS date) - 1,
                     interval '1 day') AS d
WHERE s.day = :day
""")


async def measure(url: str, day: dt.date, repeats: int) -> dict[str, Any]:
    settings = get_settings()
    engine = make_engine(_sqlalchemy_url(url), settings, pool_size=2)
    try:
        async with AsyncSession(engine) as session:
            await session.execute(
                text(f"SET LOCAL statement_timeout = '{job.JOB_STATEMENT_TIMEOUT}'")
            )
            await session.execute(text(f"SET LOCAL work_mem = '{job.JOB_WORK_MEM}'"))
            first = day - dt.timedelta(days=HISTORY_DAYS)
            await session.execute(delete(SeriesDay).where(SeriesDay.day.between(first, day)))
            await series.compute_days(session, day, day, settings.zone, 5)
            await session.execute(HISTORY, {"day": day, "days": HISTORY_DAYS})
            await session.execute(delete(SeriesDay).where(SeriesDay.day == day))
            await session.commit()
        async with AsyncSession(engine) as session:
            began = time.perf_counter()
            result = await job.run_day(session, day, settings)
            await session.commit()
            run_seconds = time.perf_counter() - began
        timings = []
        async with AsyncSession(engine) as session:
            for _ in range(repeats + 1):
                began = time.perf_counter()
                await builtin.open_signals(session, SYSTEM)
                timings.append((time.perf_counter() - began) * 1000)
                await session.rollback()
        timings = timings[1:]  # the first warms the statement cache
        return {
            "day_seconds": round(run_seconds, 2),
            "series_rows": result.series_rows,
            "signals_raised": result.raised,
            "console_list_ms_p50": round(statistics.median(timings), 1),
            "console_list_ms_max": round(max(timings), 1),
            "rules_version": rules.in_force(day)["version"],
        }
    finally:
        await engine.dispose()


NO_COUNTERS = "SELECT $1::bigint[], $2::date[], $3::bytea[]"  # the same arguments, nothing done


async def batch_cost(url: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    """What the day counters add to a batch of the scan writer (`scans.write`): the
    batch written with its counters' statement and without (alternated, random
    codes of the data set, now), each in a transaction rolled back; medians."""
    zone = get_settings().zone
    connection = await asyncpg.connect(_asyncpg_url(url))
    counting = daycounts.COUNT_BATCH
    out: dict[str, Any] = {}
    try:
        top = await connection.fetchval("SELECT max(id) FROM item_codes")
        for size in sizes:
            times: dict[str, list[float]] = {"with": [], "without": []}
            for _ in range(rounds):
                for variant, statement in (("with", counting), ("without", NO_COUNTERS)):
                    daycounts.COUNT_BATCH = statement
                    at = dt.datetime.now(dt.UTC)
                    batch = [
                        scans.Scan(random.randint(1, top), at, random.randbytes(16), "mobile")
                        for _ in range(size)
                    ]
                    transaction = connection.transaction()
                    await transaction.start()
                    began = time.perf_counter()
                    await scans.write(connection, batch, zone)
                    times[variant].append((time.perf_counter() - began) * 1000)
                    await transaction.rollback()
            with_, without = (statistics.median(times[v]) for v in ("with", "without"))
            out[str(size)] = {
                "ms_with_counters": round(with_, 1),
                "ms_without": round(without, 1),
                "ratio": round(with_ / without, 2),
            }
    finally:
        daycounts.COUNT_BATCH = counting
        await connection.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", "-n", type=int, default=1_000_000)
    parser.add_argument("--products", "-p", type=int, default=100_000)
    parser.add_argument("--scans", "-s", type=int, default=10_000_000)
    parser.add_argument("--ratings", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--url", help="a server to use (default: embedded, under --data-dir)")
    parser.add_argument("--data-dir", default="var/bench-signals")
    parser.add_argument("--database", default="qcr_bench_signals")
    parser.add_argument("--reuse", action="store_true", help="measure the loaded database again")
    parser.add_argument(
        "--scans-from", type=int, help="with --reuse: first add the scans from this number on"
    )
    parser.add_argument(
        "--batch-cost",
        action="store_true",
        help="also time the scan writer's batches with and without the day counters",
    )
    parser.add_argument(
        "--from-scans",
        action="store_true",
        help="count the day from its stored scans (as before the scan writer's counters)",
    )
    args = parser.parse_args()
    if args.url is None:
        socket_dir = embedded.start(Path(args.data_dir))
        args.url = embedded.url(socket_dir, args.database)
    day = dt.datetime.now(get_settings().zone).date() - dt.timedelta(days=1)
    began = time.perf_counter()
    loaded: dict[str, float] = {}
    if not args.reuse:
        asyncio.run(recreate(args.url))
        migrations.upgrade(_sqlalchemy_url(args.url))
    if not args.reuse or args.scans_from is not None:
        loaded = asyncio.run(load(args.url, args, day))
    start = dt.datetime.combine(day, dt.time(), get_settings().zone)
    asyncio.run(since(args.url, dt.datetime.now(dt.UTC) if args.from_scans else start))
    out = {
        "counted_from": "scans" if args.from_scans else "counters",
        "organizations": args.organizations,
        "products": min(args.products, args.organizations),
        "item_codes": min(args.products, args.organizations) * 10,
        "scans": args.scans,
        "day": day.isoformat(),
        "load_seconds": loaded | {"total": round(time.perf_counter() - began, 1)},
    }
    out |= asyncio.run(measure(args.url, day, args.repeats))
    if args.batch_cost:
        out["scan_batch_ms"] = asyncio.run(batch_cost(args.url, [100, 1000, 10000], 9))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
