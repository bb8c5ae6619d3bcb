"""The detectors' parameters as versioned data (`GET /v1/signal-rules`).

A signal names the version that raised it and stores the parameters it used,
so a re-run over the same data reproduces it. A new version is appended with
its `effective_from`; a day is judged by the version in force on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SOURCES = ("scans", "suspicious", "low_ratings", "complaints", "failed_inspections", "recalls")
# Sources fed by anonymous clients: counted per client (per /48 for IPv6, per
# address for IPv4) and never alone above level 2 (二级).
ANONYMOUS = frozenset({"scans", "suspicious", "low_ratings"})

VERSIONS: list[dict[str, Any]] = [
    {
        "version": "s1",
        "effective_from": "2026-01-01",
        "min_count": 5,
        "levels": {"1": 1e-4, "2": 1e-3},
        "anonymous_max_level": 2,
        "sources": list(SOURCES),
        "anonymous_sources": sorted(ANONYMOUS),
        "detectors": {
            "ears_c2": {
                "sources": ["scans", "suspicious", "low_ratings", "complaints", "recalls"],
                "baseline_days": 7,
                "lag_days": 2,
                "threshold": 3.0,
                "sigma_floor": 1.0,
            },
            "poisson_cusum": {
                "sources": ["scans", "suspicious", "low_ratings", "complaints", "recalls"],
                "baseline_days": 28,
                "run_days": 14,
                "shift": 2.0,
                "h": 4.0,
                "lambda_floor": 0.5,
            },
            "binomial": {
                "sources": ["failed_inspections"],
                "window_days": 30,
                "baseline_days": 365,
                "alpha": 0.001,
            },
        },
    }
]


def in_force(day: dt.date) -> dict[str, Any]:
    """The rules version in force on `day` (the first one before any)."""
    chosen = VERSIONS[0]
    for version in VERSIONS:
        if dt.date.fromisoformat(version["effective_from"]) <= day:
            chosen = version
    return chosen


def history_days(rules: dict[str, Any]) -> int:
    """How many days of series before the day the count detectors read."""
    d = rules["detectors"]
    c2 = int(d["ears_c2"]["baseline_days"]) + int(d["ears_c2"]["lag_days"])
    cusum = d["poisson_cusum"]
    return max(c2, int(cusum["baseline_days"]) + int(cusum["run_days"]) - 1)
