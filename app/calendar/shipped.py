"""The calendar the service ships: the State Council's published holidays and
adjusted working days as kept by the `chinese-calendar` package (国务院办公厅关于
部分节假日安排的通知, one notice a year)."""

from __future__ import annotations

import functools

from chinese_calendar import constants

from app.calendar.days import WorkCalendar


@functools.cache
def shipped() -> WorkCalendar:
    holidays = set(constants.holidays)
    workdays = set(constants.workdays)
    years = {d.year for d in holidays}
    return WorkCalendar.of(holidays, workdays, years)
