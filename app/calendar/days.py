"""The pure working-day arithmetic of SPEC §9.

A period starts the day after its event (the `QCR_TIMEZONE` date); a deadline in
calendar days that falls on a non-working day moves to the next working day; a
deadline in working days is the N-th working day after the event. A date is a
working day when the calendar lists it as an adjusted working day (调休上班), is
not one when it lists it as a holiday, and otherwise when it is Monday to Friday.
A year the calendar has no data for counts weekends only (the caller warns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)
# No period of the registry is longer than this in working days; a loop that walks
# further means a calendar without working days (refused when it is loaded).
MAX_STEPS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    years: frozenset[int]

    @classmethod
    def of(
        cls, holidays: Iterable[dt.date], workdays: Iterable[dt.date], years: Iterable[int]
    ) -> WorkCalendar:
        return cls(frozenset(holidays), frozenset(workdays), frozenset(years))

    def merged(self, other: WorkCalendar) -> WorkCalendar:
        """This calendar with the years of `other` replacing its own."""

        def keep(days: frozenset[dt.date]) -> set[dt.date]:
            return {d for d in days if d.year not in other.years}

        return WorkCalendar(
            frozenset(keep(self.holidays) | other.holidays),
            frozenset(keep(self.workdays) | other.workdays),
            self.years | other.years,
        )

    def knows(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        """`day` itself when it is a working day, else the first one after it."""
        for _ in range(MAX_STEPS):
            if self.is_working_day(day):
                return day
            day += ONE_DAY
        raise ValueError("no working day within ten years")

    def calendar_deadline(self, event: dt.date, days: int) -> dt.date:
        """The last day of a period of `days` calendar days after `event`."""
        return self.next_working_day(event + dt.timedelta(days=days))

    def working_deadline(self, event: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `event` (the event's day does not count)."""
        if days < 0:
            raise ValueError("a period is not negative")
        day, counted = event, 0
        for _ in range(MAX_STEPS):
            if counted == days:
                return day
            day += ONE_DAY
            counted += self.is_working_day(day)
        raise ValueError("no such deadline within ten years")

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    def years_unknown(self, start: dt.date, end: dt.date) -> list[int]:
        """The years between the two dates that the calendar has no data for."""
        return [y for y in range(start.year, end.year + 1) if y not in self.years]
