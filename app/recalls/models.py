"""Recall progress reports and "I returned it" confirmations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import CreatedMixin, IdMixin


class RecallProgress(IdMixin, CreatedMixin, Base):
    """One progress report of a recall; the latest one per recall is current."""

    __tablename__ = "recall_progress"

    recall_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("recalls.id"))
    reported_on: Mapped[dt.date] = mapped_column(Date)
    # [{"level", "distributed", "corrected"}], one per distribution level.
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # {"channel": count} notifications sent (sms, letter, media, ...).
    notifications: Mapped[dict[str, int]] = mapped_column(JSONB, server_default="{}")
    planned_completion_on: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_recall_progress_recall_id_created_at", "recall_id", "created_at"),)


class RecallReturn(Base):
    """A consumer's "I returned it" confirmation of a recalled item, from the
    resolver page of its code (one per item and recall)."""

    __tablename__ = "recall_returns"

    recall_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("recalls.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("item_codes.id"), primary_key=True)
    confirmed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
