"""Grade assessments, violations, inspections and recalls, and their versions.

Each record table holds the current version; `record_versions` holds every
version ever recorded (append-only), which serves the history endpoints and the
credit engine's `known_at` time travel.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import RANDOM_SALT, CreatedMixin, IdMixin


class OrganizationRecord(IdMixin, CreatedMixin):
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class GradeAssessment(OrganizationRecord, Base):
    __tablename__ = "grade_assessments"

    grade: Mapped[str] = mapped_column(String(3))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("grade IN ('AAA', 'AA', 'A', 'B', 'C', 'D')", name="grade"),
        CheckConstraint("valid_until IS NULL OR valid_until >= assessed_on", name="valid_until"),
    )


class Violation(OrganizationRecord, Base):
    __tablename__ = "violations"

    case_no: Mapped[str] = mapped_column(Text)
    authority: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)  # internal
    # Private fields enter the audit log only as SHA-256(salt ‖ value) (SPEC §7).
    private_salt: Mapped[bytes] = mapped_column(LargeBinary, server_default=RANDOM_SALT)
    public_summary: Mapped[str] = mapped_column(Text)
    penalty_amount: Mapped[decimal.Decimal | None] = mapped_column(Numeric(16, 2))
    rectified_on: Mapped[dt.date | None] = mapped_column(Date)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    repaired_on: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("authority", "case_no", name="uq_violations_authority_case_no"),
        CheckConstraint("severity IN ('minor', 'general', 'serious')", name="severity"),
        CheckConstraint("rectified_on IS NULL OR rectified_on >= decided_on", name="rectified_on"),
        CheckConstraint("revoked_on IS NULL OR revoked_on >= decided_on", name="revoked_on"),
        CheckConstraint("(revoked_on IS NULL) = (revoked_reason IS NULL)", name="revoked_reason"),
        CheckConstraint("penalty_amount IS NULL OR penalty_amount >= 0", name="penalty_amount"),
        Index("ix_violations_organization_id_decided_on", "organization_id", "decided_on"),
    )


class Inspection(OrganizationRecord, Base):
    __tablename__ = "inspections"

    report_no: Mapped[str] = mapped_column(Text)
    authority: Mapped[str] = mapped_column(Text)
    inspected_on: Mapped[dt.date] = mapped_column(Date)
    product_name: Mapped[str] = mapped_column(Text)
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    lot: Mapped[str | None] = mapped_column(String(20))
    standard: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(4))
    failed_items: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    rectified_on: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("authority", "report_no", name="uq_inspections_authority_report_no"),
        CheckConstraint("result IN ('pass', 'fail')", name="result"),
        CheckConstraint(
            "rectified_on IS NULL OR (result = 'fail' AND rectified_on >= inspected_on)",
            name="rectified_on",
        ),
    )


class Recall(OrganizationRecord, Base):
    __tablename__ = "recalls"

    recall_no: Mapped[str] = mapped_column(Text, unique=True)
    product_name: Mapped[str] = mapped_column(Text)
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    lots: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # None: every lot
    initiated_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    hazard_class: Mapped[int] = mapped_column(SmallInteger)
    units: Mapped[int | None] = mapped_column(Integer)
    remedy: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="ongoing")

    __table_args__ = (
        CheckConstraint("kind IN ('voluntary', 'ordered')", name="kind"),
        CheckConstraint("hazard_class IN (1, 2, 3)", name="hazard_class"),
        CheckConstraint("status IN ('ongoing', 'completed', 'terminated')", name="status"),
        CheckConstraint("units IS NULL OR units >= 0", name="units"),
    )


class RecordVersion(Base):
    """Every version of every record, as recorded. Append-only."""

    __tablename__ = "record_versions"

    record_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    change: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_role: Mapped[str] = mapped_column(String(16))
