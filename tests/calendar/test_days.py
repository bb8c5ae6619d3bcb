"""Working days around the 2026 Spring Festival (2月15日–23日 off, 2月14日 and
2月28日 Saturdays worked), National Day, and a year with no data."""

from __future__ import annotations

import datetime as dt

from app.calendar.days import WorkCalendar
from app.calendar.shipped import shipped

D = dt.date


def test_spring_festival_days_and_adjusted_saturdays() -> None:
    cal = shipped()
    assert cal.is_working_day(D(2026, 2, 13))  # Friday before the holiday
    assert cal.is_working_day(D(2026, 2, 14))  # 调休 Saturday, worked
    assert not cal.is_working_day(D(2026, 2, 15))
    assert not cal.is_working_day(D(2026, 2, 23))  # a Monday inside the holiday
    assert cal.is_working_day(D(2026, 2, 24))  # first day back
    assert cal.is_working_day(D(2026, 2, 28))  # 调休 Saturday, worked
    assert not cal.is_working_day(D(2026, 3, 1))  # an ordinary Sunday


def test_working_deadline_across_the_spring_festival() -> None:
    cal = shipped()
    # Event on Thursday 12 Feb: 13 (Fri), 14 (调休 Sat) count, 15-23 do not, then 24...
    assert cal.working_deadline(D(2026, 2, 12), 1) == D(2026, 2, 13)
    assert cal.working_deadline(D(2026, 2, 12), 2) == D(2026, 2, 14)
    assert cal.working_deadline(D(2026, 2, 12), 3) == D(2026, 2, 24)
    assert cal.working_deadline(D(2026, 2, 12), 7) == D(2026, 2, 28)
    assert cal.working_deadline(D(2026, 2, 12), 8) == D(2026, 3, 2)
    assert cal.working_deadline(D(2026, 2, 12), 0) == D(2026, 2, 12)


def test_calendar_deadline_moves_off_a_holiday() -> None:
    cal = shipped()
    # 10 calendar days after 9 Feb is 19 Feb, inside the holiday: moved to 24 Feb.
    assert cal.calendar_deadline(D(2026, 2, 9), 10) == D(2026, 2, 24)
    # 10 days after 4 Feb is Saturday 14 Feb, a worked Saturday: stays.
    assert cal.calendar_deadline(D(2026, 2, 4), 10) == D(2026, 2, 14)
    # 10 days after 11 Nov 2026 is Saturday 21 Nov: moved to Monday 23 Nov.
    assert cal.calendar_deadline(D(2026, 11, 11), 10) == D(2026, 11, 23)
    # An ordinary working day stays where it falls.
    assert cal.calendar_deadline(D(2026, 11, 9), 10) == D(2026, 11, 19)


def test_working_days_between_counts_after_the_start_through_the_end() -> None:
    cal = shipped()
    assert cal.working_days_between(D(2026, 2, 12), D(2026, 2, 24)) == 3
    assert cal.working_days_between(D(2026, 2, 24), D(2026, 2, 24)) == 0
    assert cal.working_days_between(D(2026, 2, 24), D(2026, 2, 12)) == 0


def test_a_year_without_data_counts_weekends_only() -> None:
    cal = shipped()
    assert not cal.knows(2031)
    assert cal.years_unknown(D(2030, 12, 1), D(2031, 1, 5)) == [2030, 2031]
    assert cal.is_working_day(D(2031, 1, 1))  # a Wednesday; no data, so worked
    assert not cal.is_working_day(D(2031, 1, 4))  # Saturday


def test_a_loaded_year_replaces_the_shipped_one() -> None:
    loaded = WorkCalendar.of({D(2026, 12, 31)}, {D(2026, 12, 27)}, {2026})
    cal = shipped().merged(loaded)
    assert not cal.is_working_day(D(2026, 12, 31))
    assert cal.is_working_day(D(2026, 12, 27))  # a Sunday made a working day
    # The shipped 2026 holidays are gone: the loaded year is the whole year.
    assert cal.is_working_day(D(2026, 10, 2))
    assert cal.is_working_day(D(2025, 10, 2)) is shipped().is_working_day(D(2025, 10, 2))
