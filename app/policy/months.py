"""Calendar-month arithmetic for the credit windows of SPEC §4.

"Within N months" means `as_of − N months < d ≤ as_of`, where subtracting months
keeps the day of the month and clamps it to the end of a shorter month
(2026-03-31 − 1 month = 2026-02-28). Pure functions, no I/O.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(d: date, n: int) -> date:
    """`d` moved by `n` calendar months (negative goes back), the day clamped to the month's end."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    day = min(d.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def within(d: date, as_of: date, months: int) -> bool:
    """Whether `d` lies within `months` months of `as_of`: `as_of − months < d ≤ as_of`."""
    return add_months(as_of, -months) < d <= as_of


def first_day_outside(d: date, months: int) -> date:
    """The first day T ≥ `d` on which `d` is no longer within `months` months of T."""
    # T − N months never decreases as T grows, so the answer is the first T whose
    # T − N months reaches d. That is d + N months, unless the day was clamped
    # (2024-03-31 + 1 month = 2024-04-30, and 2024-04-30 − 1 month = 2024-03-30 < d):
    # then the candidate is a month's last day and the next day is already outside.
    candidate = add_months(d, months)
    if within(d, candidate, months):
        return candidate + timedelta(days=1)
    return candidate
