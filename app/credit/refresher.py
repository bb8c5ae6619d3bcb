"""The daily refresh: statuses whose window edge has passed are recomputed once a
day (and once at start-up), so list publications and feeds need no read to
notice time passing. One replica does it at a time (an advisory lock)."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from sqlalchemy import text

from app.core import idempotency
from app.core.database import Database
from app.core.settings import Settings
from app.credit import service as credit_service

log = structlog.get_logger("qcr.refresh")
REFRESH_LOCK_ID = 0x51C4_0004


async def refresh_once(database: Database) -> int | None:
    """Refresh due statuses; None when another process holds the lock."""
    async with database.sessionmaker() as session:
        got = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK_ID}
        )
        if not got:
            return None
        refreshed = await credit_service.refresh_due(session)
        purged = await idempotency.purge(session)
        await session.commit()
    log.info("credit_refreshed", refreshed=refreshed, idempotency_keys_purged=purged)
    return refreshed


def seconds_until_next_run(settings: Settings, now: dt.datetime | None = None) -> float:
    """Five minutes past the next midnight in the registry's time zone."""
    now = now or dt.datetime.now(settings.zone)
    local = now.astimezone(settings.zone)
    tomorrow = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(0, 5), settings.zone
    )
    return max(1.0, (tomorrow - local).total_seconds())


async def run_daily(database: Database, settings: Settings) -> None:
    while True:
        try:
            await refresh_once(database)
        except Exception:  # a failed run is retried at the next one; never kill the server
            log.exception("credit_refresh_failed")
        await asyncio.sleep(seconds_until_next_run(settings))
