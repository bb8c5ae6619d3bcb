"""Calendar-month arithmetic: clamping, the "within N months" window and its first day outside."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.policy.months import add_months, first_day_outside, within

D = date.fromisoformat
ONE_DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-03-31", -1, "2026-02-28"),
        ("2024-03-31", -1, "2024-02-29"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-02-29", 48, "2028-02-29"),
        ("2024-02-29", -12, "2023-02-28"),
        ("2025-01-31", 1, "2025-02-28"),
        ("2025-01-31", 3, "2025-04-30"),
        ("2025-12-15", 1, "2026-01-15"),
        ("2026-01-15", -1, "2025-12-15"),
        ("2026-01-15", -25, "2023-12-15"),
        ("2023-01-15", 36, "2026-01-15"),
        ("2025-08-31", 0, "2025-08-31"),
    ],
)
def test_add_months(start: str, n: int, expected: str) -> None:
    assert add_months(D(start), n) == D(expected)


@pytest.mark.parametrize(
    ("d", "as_of", "months", "expected"),
    [
        ("2023-01-15", "2026-01-14", 36, True),  # 2023-01-14 < d
        ("2023-01-15", "2026-01-15", 36, False),  # 2023-01-15 is not < d
        ("2025-03-31", "2025-03-31", 12, True),  # the day itself
        ("2025-03-31", "2025-03-30", 12, False),  # not yet
        ("2024-02-29", "2025-02-28", 12, True),  # 2025-02-28 − 12 months = 2024-02-28
        ("2024-02-29", "2025-03-01", 12, False),
        ("2024-03-31", "2024-04-30", 1, True),  # 2024-04-30 − 1 month = 2024-03-30
        ("2024-03-31", "2024-05-01", 1, False),
        ("2025-06-01", "2025-06-01", 0, False),  # a zero-month window is always empty
    ],
)
def test_within(d: str, as_of: str, months: int, expected: bool) -> None:
    assert within(D(d), D(as_of), months) is expected


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        ("2023-01-15", 36, "2026-01-15"),
        ("2024-03-31", 1, "2024-05-01"),  # 04-30 is still inside: clamped
        ("2024-02-29", 12, "2025-03-01"),
        ("2023-02-28", 12, "2024-02-28"),
        ("2025-11-30", 3, "2026-03-01"),  # 2026-02-28 − 3 months = 2025-11-28
        ("2025-06-01", 0, "2025-06-01"),
    ],
)
def test_first_day_outside_examples(d: str, months: int, expected: str) -> None:
    assert first_day_outside(D(d), months) == D(expected)


def _brute_first_day_outside(d: date, months: int) -> date:
    """The definition, literally: the smallest T ≥ d with `within(d, T, months)` False."""
    t = d
    while within(d, t, months):
        t += ONE_DAY
    return t


def _awkward_days() -> list[date]:
    """The first, the 28th to 31st, and Feb 29 of every month in 2023–2025 (clamping cases)."""
    days = []
    for year in (2023, 2024, 2025):
        for month in range(1, 13):
            start = date(year, month, 1)
            days.append(start)
            end = add_months(start, 1) - ONE_DAY
            days.extend(end - timedelta(days=k) for k in range(end.day - 28 + 1))
    return days


@pytest.mark.parametrize("months", [1, 2, 3, 12, 24, 36])
def test_first_day_outside_matches_brute_force_on_month_ends(months: int) -> None:
    days = _awkward_days()
    assert date(2024, 2, 29) in days
    for d in days:
        assert first_day_outside(d, months) == _brute_first_day_outside(d, months), d


@pytest.mark.parametrize("months", [1, 3, 12, 36])
def test_first_day_outside_is_the_window_edge_for_every_day(months: int) -> None:
    d = date(2023, 1, 1)
    while d <= date(2025, 12, 31):
        outside = first_day_outside(d, months)
        assert outside > d
        assert within(d, outside - ONE_DAY, months)
        assert not within(d, outside, months)
        # Once outside, always outside: T − N months never decreases.
        assert not within(d, outside + timedelta(days=31), months)
        d += ONE_DAY


def test_subtracting_months_is_monotonic() -> None:
    t = date(2023, 1, 1)
    while t < date(2026, 1, 1):
        for months in (1, 3, 12, 36):
            assert add_months(t, -months) <= add_months(t + ONE_DAY, -months)
        t += ONE_DAY
