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


class CreditStatus(Base):
    """The materialised current credit of one organization (SPEC §4.6).

    Written in the same transaction as any record write that changes its inputs;
    `holds_until` is the last day it is right without a write, after which it is
    recomputed (on read, and by the daily refresh)."""

    __tablename__ = "credit_status"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    grade: Mapped[str] = mapped_column(String(3))
    assessed_grade: Mapped[str] = mapped_column(String(3))
    a_level: Mapped[bool] = mapped_column(Boolean)
    red_list: Mapped[bool] = mapped_column(Boolean)
    black_list: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    policy_version: Mapped[str] = mapped_column(String(8))
    as_of: Mapped[dt.date] = mapped_column(Date)
    holds_until: Mapped[dt.date | None] = mapped_column(Date)
    listed_since: Mapped[dt.date | None] = mapped_column(Date)
    expected_exit: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # `reasons` as the public and partners see them (publication periods applied),
    # right until `public_until` (null: for good); written with the status.
    public_reasons: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    public_until: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_credit_status_grade", "grade"),
        Index("ix_credit_status_holds_until", "holds_until"),
        Index("ix_credit_status_public_until", "public_until"),
        Index("ix_credit_status_red", "uscc", postgresql_where="red_list"),
        Index("ix_credit_status_black", "uscc", postgresql_where="black_list"),
    )


class RepairRequest(Base):
    """A credit repair (信用修复) request for one violation, and its decision."""

    __tablename__ = "repair_requests"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    violation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("violations.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        # At most one open request per violation.
        Index(
            "uq_repair_requests_pending",
            "violation_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )
