"""Notices (事先告知) and objections (信用异议), SPEC §9."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(16), server_default="black_list")
    basis: Mapped[dict[str, Any]] = mapped_column(JSONB)
    served_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    served_on: Mapped[dt.date] = mapped_column(Date)  # the QCR_TIMEZONE date of served_at
    served_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: served by the registry
    delivered_on: Mapped[dt.date | None] = mapped_column(Date)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    objection_deadline: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), server_default="served")
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('black_list')", name="kind"),
        CheckConstraint("status IN ('served', 'delivered', 'withdrawn')", name="status"),
    )


class Objection(Base):
    __tablename__ = "objections"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grounds: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    opened_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    opened_role: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[dt.date] = mapped_column(Date)  # 7 working days after opened_on
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    late: Mapped[bool] = mapped_column(Boolean, server_default="false")

    __table_args__ = (
        CheckConstraint("status IN ('open', 'upheld', 'rejected')", name="status"),
        # At most one open objection per record (a second is 409).
        Index(
            "uq_objections_open",
            "record_type",
            "record_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_objections_status_due_on", "status", "due_on"),
    )
