"""The daily series and the signals raised on them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.codes.models import ItemScan
from app.core.database import Base
from app.core.models import IdMixin

# The day's scans are counted with a range scan on this index, never a full pass.
SCANS_BY_TIME = Index("ix_item_scans_scanned_at", ItemScan.scanned_at)


class SeriesDay(Base):
    """One day's count of one source for one category × prefecture (sparse: no zero rows)."""

    __tablename__ = "signal_series"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(4), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)  # clients for anonymous sources, else records
    events: Mapped[int] = mapped_column(Integer)  # records (scans, feedback, codes, …)
    trials: Mapped[int] = mapped_column(Integer, server_default="0")  # inspections
    records: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")

    __table_args__ = (
        Index("ix_signal_series_source_category_region_day", "source", "category", "region", "day"),
    )


class SeriesRun(Base):
    """A day whose series and detectors have run (the daily job catches up from here)."""

    __tablename__ = "signal_runs"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rules_version: Mapped[str] = mapped_column(String(10))
    ran_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    series_rows: Mapped[int] = mapped_column(Integer)
    detections: Mapped[int] = mapped_column(Integer)


class Signal(IdMixin, Base):
    __tablename__ = "signals"

    key: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(4))
    day: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10), server_default="new")
    rules_version: Mapped[str] = mapped_column(String(10))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    baseline: Mapped[dict[str, Any]] = mapped_column(JSONB)
    expected: Mapped[float] = mapped_column(Double)
    observed: Mapped[float] = mapped_column(Double)
    bound: Mapped[float] = mapped_column(Double)
    statistic: Mapped[float] = mapped_column(Double)
    p_value: Mapped[float] = mapped_column(Double)
    records: Mapped[list[str]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        # One open signal per key (SPEC §10).
        Index(
            "uq_signals_open_key", "key", unique=True, postgresql_where=text("status <> 'closed'")
        ),
        Index("ix_signals_status_level_day", "status", "level", "day"),
    )
