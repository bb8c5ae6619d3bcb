"""The calendar in force: the shipped years with the operator's loaded years on top.

Read from the database on every use (a table of a few rows, read only by writes
that compute a deadline), so a year loaded by `qcr calendar load` counts in every
process from its commit on: no cache, nothing stale.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

import structlog
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar.days import WorkCalendar
from app.calendar.models import CalendarYear
from app.calendar.shipped import shipped
from app.core.database import Reader

log = structlog.get_logger("qcr.calendar")
_warned: set[int] = set()


class YearFile(BaseModel):
    """`{"year", "holidays": [dates], "workdays": [dates]}` (SPEC §9)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    year: StrictInt = Field(ge=2000, le=2200)
    holidays: list[dt.date] = Field(max_length=366)
    workdays: list[dt.date] = Field(max_length=366)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("holidays", "workdays"):
            for day in getattr(self, name):
                if day.year != self.year:
                    raise ValueError(f"{name}: {day.isoformat()} is not in {self.year}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"both a holiday and a working day: {min(both).isoformat()}")
        return self


async def load_year(session: AsyncSession, year: YearFile) -> None:
    """Store (or replace) one year of the calendar."""
    statement = insert(CalendarYear).values(
        year=year.year, holidays=sorted(set(year.holidays)), workdays=sorted(set(year.workdays))
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarYear.year],
            set_={"holidays": statement.excluded.holidays, "workdays": statement.excluded.workdays},
        )
    )


async def current(session: Reader) -> WorkCalendar:
    """The calendar in force now."""
    rows = (await session.scalars(select(CalendarYear))).all()
    loaded = WorkCalendar.of(
        (d for r in rows for d in r.holidays),
        (d for r in rows for d in r.workdays),
        (r.year for r in rows),
    )
    return shipped().merged(loaded)


def warn_unknown(calendar: WorkCalendar, start: dt.date, end: dt.date) -> None:
    """Log once per process for each year of a period the calendar has no data for."""
    for year in calendar.years_unknown(start, end):
        if year not in _warned:
            _warned.add(year)
            log.warning(
                "calendar_year_unknown",
                year=year,
                detail="counting weekends only; load the year with `qcr calendar load FILE`",
            )
