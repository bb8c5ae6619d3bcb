"""Run the detectors of the rules in force over the stored series of one day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.signals import detectors, rules

Key = tuple[str, str, str]  # source, category, region

DAY_ROWS = (
    "SELECT source, category, region, value, trials, records FROM signal_series WHERE day = :day"
)
HISTORY = """
SELECT s.source, s.category, s.region, s.day, s.value
FROM signal_series s
JOIN (SELECT source, category, region FROM signal_series WHERE day = :day) k
  USING (source, category, region)
WHERE s.day >= :first AND s.day < :day
"""
WINDOW = """
SELECT category, region, sum(value)::int AS failures, sum(trials)::int AS trials,
       jsonb_agg(records) AS records
FROM signal_series
WHERE source = 'failed_inspections' AND day > :start AND day <= :day
GROUP BY category, region
"""
CATEGORY_BASE = """
SELECT category, sum(value)::int AS failures, sum(trials)::int AS trials
FROM signal_series
WHERE source = 'failed_inspections' AND day > :start AND day <= :end
GROUP BY category
"""


@dataclass(frozen=True)
class Finding:
    """A detector's alarm on one key, with everything a signal keeps."""

    source: str
    category: str
    region: str
    detection: detectors.Detection
    level: int
    params: dict[str, Any]
    records: list[str]
    history: list[int]

    @property
    def key(self) -> str:
        return f"{self.detection.method}:{self.source}:{self.category}:{self.region}"


def _level(detection: detectors.Detection, source: str, ruleset: dict[str, Any]) -> int:
    return detectors.level_of(detection.p_value, anonymous=source in rules.ANONYMOUS, rules=ruleset)


def count_findings(
    day_rows: list[dict[str, Any]],
    history: dict[Key, dict[dt.date, int]],
    day: dt.date,
    ruleset: dict[str, Any],
) -> list[Finding]:
    """EARS C2 and the Poisson CUSUM on every key counted that day (pure)."""
    span = rules.history_days(ruleset)
    days = [day - dt.timedelta(days=n) for n in range(span, 0, -1)]
    found = []
    for row in day_rows:
        key: Key = (row["source"], row["category"], row["region"])
        past = history.get(key, {})
        series = [past.get(d, 0) for d in days]
        for method in ("ears_c2", "poisson_cusum"):
            params = dict(ruleset["detectors"][method])
            if row["source"] not in params.pop("sources"):
                continue
            call = detectors.ears_c2 if method == "ears_c2" else detectors.poisson_cusum
            detection = call(series, row["value"], min_count=ruleset["min_count"], **params)
            if detection.alarm:
                found.append(
                    Finding(
                        *key,
                        detection,
                        _level(detection, row["source"], ruleset),
                        params | {"min_count": ruleset["min_count"]},
                        list(row["records"]),
                        series,
                    )
                )
    return found


async def findings(session: AsyncSession, day: dt.date) -> list[Finding]:
    """Every alarm of the day over the stored series."""
    ruleset = rules.in_force(day)
    day_rows = [dict(r) for r in (await session.execute(text(DAY_ROWS), {"day": day})).mappings()]
    first = day - dt.timedelta(days=rules.history_days(ruleset))
    history: dict[Key, dict[dt.date, int]] = defaultdict(dict)
    rows = await session.execute(text(HISTORY), {"day": day, "first": first})
    for r in rows.mappings():
        history[(r["source"], r["category"], r["region"])][r["day"]] = r["value"]
    found = count_findings(day_rows, history, day, ruleset)
    if any(r["source"] == "failed_inspections" and r["value"] for r in day_rows):
        found += await _rate_findings(session, day, ruleset, day_rows)
    return found


async def _rate_findings(
    session: AsyncSession, day: dt.date, ruleset: dict[str, Any], day_rows: list[dict[str, Any]]
) -> list[Finding]:
    params = dict(ruleset["detectors"]["binomial"])
    params.pop("sources")
    window, baseline = params["window_days"], params["baseline_days"]
    start = day - dt.timedelta(days=window)
    windows = (await session.execute(text(WINDOW), {"start": start, "day": day})).mappings().all()
    base_rows = await session.execute(
        text(CATEGORY_BASE), {"start": start - dt.timedelta(days=baseline), "end": start}
    )
    base = {r["category"]: (r["failures"], r["trials"]) for r in base_rows.mappings()}
    today_keys = {
        (r["category"], r["region"])
        for r in day_rows
        if r["source"] == "failed_inspections" and r["value"]
    }
    found = []
    for r in windows:
        if (r["category"], r["region"]) not in today_keys:
            continue  # raised on a day with a new failure only
        base_failures, base_trials = base.get(r["category"], (0, 0))
        detection = detectors.binomial_rate(
            r["failures"],
            r["trials"],
            base_failures,
            base_trials,
            alpha=params["alpha"],
            min_count=ruleset["min_count"],
        )
        if detection is None or not detection.alarm:
            continue
        records = sorted({id for ids in r["records"] for id in ids})[:50]
        found.append(
            Finding(
                "failed_inspections",
                r["category"],
                r["region"],
                detection,
                _level(detection, "failed_inspections", ruleset),
                params | {"min_count": ruleset["min_count"]},
                records,
                [],
            )
        )
    return found
