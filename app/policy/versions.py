"""Policy versions over time (SPEC §4.1): `v1`, and `v2` from its `effective_from`.

The version in force on a date decides that date's result, so an `as_of` before
the change still answers `v1`. `v2`'s date comes from `QCR_POLICY_V2_FROM`, is
stored at first start and may change only while it is in the future (the
credit service does that, and calls `configure`); the schedule of this process
is module state, set once at start-up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

from app.policy.policy import POLICY_V1, Policy, Schedule

DEFAULT_V2_FROM = dt.date(2027, 1, 1)

# v2 differs from v1 in exactly the points of SPEC §4.1.
POLICY_V2 = replace(
    POLICY_V1,
    version="v2",
    effective_from=DEFAULT_V2_FROM,
    c1_min_count=3,
    notice_before_black_list=True,
    disputed_reasons=True,
    publication_rule="order45",
)


def schedule_with(v2_from: dt.date) -> Schedule:
    return Schedule([POLICY_V1, replace(POLICY_V2, effective_from=v2_from)])


_schedule = schedule_with(DEFAULT_V2_FROM)


def current() -> Schedule:
    """The schedule of this process."""
    return _schedule


def configure(v2_from: dt.date) -> None:
    global _schedule
    _schedule = schedule_with(v2_from)


@contextmanager
def v2_from(day: dt.date) -> Iterator[None]:
    """Make `v2` apply from `day` in this process (tests of the change of version)."""
    global _schedule
    previous, _schedule = _schedule, schedule_with(day)
    try:
        yield
    finally:
        _schedule = previous


def find(version: str) -> Policy | None:
    return next((p for p in _schedule.versions if p.version == version), None)


def as_data(policy: Policy) -> dict[str, Any]:
    """A version as published at `GET /v1/policies/{version}`: every rule, window,
    cap and period as data."""
    out: dict[str, Any] = {}
    for f in fields(policy):
        value = getattr(policy, f.name)
        if isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, dt.date):
            value = None if value == dt.date.min else value.isoformat()
        out[f.name] = value
    return out
