"""A weekday-only working-day calendar, for the acknowledgement deadline.

Placeholder for the shared Chinese calendar (SPEC §9: official holidays and
adjusted working days, `app/calendar`): the lead swaps `add_working_days` for
that module's function when merging. Saturdays and Sundays are the only
non-working days here.
"""

from __future__ import annotations

import datetime as dt


def is_weekday_working_day(day: dt.date) -> bool:
    return day.weekday() < 5


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (a period starts the day after its
    event, SPEC §9): Friday + 1 is Monday."""
    current = day
    remaining = count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_weekday_working_day(current):
            remaining -= 1
    return current
