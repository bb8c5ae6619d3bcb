"""The daily job (01:00 QCR_TIMEZONE and at start-up, inside `qcr serve`; `qcr
signals run --date`).

For each day not yet run up to yesterday it counts the day's series and runs the
detectors; days of history the detectors need that were never counted (a first
run) are counted first, without detection, so baselines are real. Mediations
past their 45 working days end the same night (art. 21 (5)). One replica runs it
at a time (an advisory lock).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import daycounts
from app.complaints import service as complaints_service
from app.core.database import Database
from app.core.settings import Settings
from app.signals import detect, rules, series, service
from app.signals.models import SeriesRun

log = structlog.get_logger("qcr.signals")
JOB_LOCK_ID = 0x51C4_0501
RUN_AT = dt.time(1, 0)
CATCH_UP_DAYS = 7  # detection for at most this many missed days
# A night's batch, not a request: a day of ten million scans is counted and
# sorted in one statement per source, beyond the service's statement timeout
# and default sort memory (as list publication, app/lists/service.py).
JOB_STATEMENT_TIMEOUT = "10min"
JOB_WORK_MEM = "64MB"


@dataclass(frozen=True)
class DayResult:
    day: dt.date
    series_rows: int
    raised: int


def _history_span(day: dt.date) -> int:
    ruleset = rules.in_force(day)
    binomial = ruleset["detectors"]["binomial"]
    return max(
        rules.history_days(ruleset), int(binomial["window_days"]) + int(binomial["baseline_days"])
    )


async def _counted(session: AsyncSession, first: dt.date, last: dt.date) -> set[dt.date]:
    rows = await session.scalars(
        select(SeriesRun.day).where(SeriesRun.day >= first, SeriesRun.day <= last)
    )
    return set(rows)


async def run_day(session: AsyncSession, day: dt.date, settings: Settings) -> DayResult:
    """Count `day` (and any uncounted history before it), detect, raise signals."""
    zone, threshold = settings.zone, settings.suspicious_scan_threshold
    await session.execute(text(f"SET LOCAL statement_timeout = '{JOB_STATEMENT_TIMEOUT}'"))
    await session.execute(text(f"SET LOCAL work_mem = '{JOB_WORK_MEM}'"))
    first = day - dt.timedelta(days=_history_span(day))
    done = await _counted(session, first, day - dt.timedelta(days=1))
    days = [first + dt.timedelta(days=n) for n in range((day - first).days)]
    missing = [d for d in days if d not in done]
    if missing:  # one pass over the uncounted range (counted days are recounted alike)
        await series.compute_days(session, missing[0], missing[-1], zone, threshold)
        for past in missing:
            await _mark(session, past, 0, 0)
    rows = await series.compute_days(session, day, day, zone, threshold)
    raised = await service.raise_findings(session, day, await detect.findings(session, day))
    await _mark(session, day, rows, raised)
    return DayResult(day, rows, raised)


async def _mark(session: AsyncSession, day: dt.date, rows: int, raised: int) -> None:
    values = {
        "day": day,
        "rules_version": rules.in_force(day)["version"],
        "series_rows": rows,
        "detections": raised,
        "ran_at": func.now(),
    }
    statement = insert(SeriesRun).values(**values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[SeriesRun.day], set_=values)
    )


async def run_once(database: Database, settings: Settings, today: dt.date) -> list[DayResult]:
    """Every day from the last run (at most CATCH_UP_DAYS back) up to yesterday."""
    yesterday = today - dt.timedelta(days=1)
    async with database.sessionmaker() as session:
        got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": JOB_LOCK_ID})
        if not got:
            return []
        last = await session.scalar(
            select(func.max(SeriesRun.day)).where(SeriesRun.day <= yesterday)
        )
        start = max(
            (last + dt.timedelta(days=1)) if last else yesterday,
            yesterday - dt.timedelta(days=CATCH_UP_DAYS - 1),
        )
        results = []
        day = start
        while day <= yesterday:
            results.append(await run_day(session, day, settings))
            day += dt.timedelta(days=1)
        ended = await complaints_service.end_expired_mediations(session, today)
        forgotten = await daycounts.forget_clients(session, today)
        await session.commit()
    for r in results:
        log.info(
            "signals_computed", day=r.day.isoformat(), series_rows=r.series_rows, raised=r.raised
        )
    log.info("mediations_ended", count=ended)
    log.info("scan_day_clients_dropped", count=forgotten)
    return results


def seconds_until_next_run(settings: Settings, now: dt.datetime | None = None) -> float:
    local = (now or dt.datetime.now(settings.zone)).astimezone(settings.zone)
    target = dt.datetime.combine(local.date(), RUN_AT, settings.zone)
    if target <= local:
        target = dt.datetime.combine(local.date() + dt.timedelta(days=1), RUN_AT, settings.zone)
    return max(1.0, (target - local).total_seconds())


async def run_daily(database: Database, settings: Settings) -> None:
    """At start-up (catching up on days missed while down), then every day at 01:00."""
    while True:
        try:
            await run_once(database, settings, dt.datetime.now(settings.zone).date())
        except Exception:  # retried the next night; never kill the server
            log.exception("signals_failed")
        await asyncio.sleep(seconds_until_next_run(settings))
