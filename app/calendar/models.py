"""A year of the calendar loaded by the operator (`qcr calendar load`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, Date, DateTime, Integer, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class CalendarYear(Base):
    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[dt.date]] = mapped_column(ARRAY(Date))
    workdays: Mapped[list[dt.date]] = mapped_column(ARRAY(Date))
    loaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
