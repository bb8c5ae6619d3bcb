"""A complaint or report, with its clocks and its private parties.

The complainant (or a named reporter) is personal data seen by the handling
regulators only (art. 33): it sits in this row next to its own salt, so erasing
it (`complainant = NULL`) never breaks the audit log, which holds only
SHA-256(salt ‖ value).
"""

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
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import CreatedMixin, IdMixin, fields

# The stored fields that both the audit entry and every view hold as they are
# (the private ones enter the entry only as digests, the views by role).
PLAIN_FIELDS = (
    "kind",
    "status",
    "source",
    "channel",
    "authority",
    "uscc",
    "gtin",
    "lot",
    "serial",
    "category",
    "received_on",
    "decision_due_on",
    "decided_on",
    "accepted_on",
    "mediation_due_on",
    "testing_periods",
    "extended",
    "closed_on",
    "outcome_reason",
    "substantiated",
    "substantiated_on",
)


class Complaint(IdMixin, CreatedMixin, Base):
    __tablename__ = "complaints"

    def plain_fields(self) -> dict[str, Any]:
        return fields(self, PLAIN_FIELDS)

    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), server_default="received")
    # resolver (the 投诉举报 button), regulator (12315/12365 intake), enterprise,
    # partner, feedback (migrated)
    source: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str | None] = mapped_column(String(10))
    authority: Mapped[str] = mapped_column(Text)
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    region_code: Mapped[str] = mapped_column(String(6))
    gtin: Mapped[str | None] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20))
    scan_proof: Mapped[bool] = mapped_column(Boolean, server_default="false")
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    # Private (art. 33): {"name", "phone", "address"}; erasable, salted in the log.
    complainant: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    private_salt: Mapped[bytes] = mapped_column(LargeBinary)
    client_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    cluster_key: Mapped[str] = mapped_column(String(64))
    feedback_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)

    received_on: Mapped[dt.date] = mapped_column(Date)
    decision_due_on: Mapped[dt.date] = mapped_column(Date)  # accept/reject (7) or verify (15)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    mediation_due_on: Mapped[dt.date | None] = mapped_column(Date)
    testing_periods: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    extended: Mapped[bool] = mapped_column(Boolean, server_default="false")
    extension_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    substantiated: Mapped[bool | None] = mapped_column(Boolean)
    substantiated_on: Mapped[dt.date | None] = mapped_column(Date)
    substantiated_recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("kind IN ('complaint', 'report')", name="kind"),
        CheckConstraint(
            "status IN ('received', 'accepted', 'rejected', 'mediating', 'resolved', "
            "'terminated', 'verified', 'case_opened', 'closed')",
            name="status",
        ),
        CheckConstraint(
            "source IN ('resolver', 'regulator', 'enterprise', 'partner', 'feedback')",
            name="source",
        ),
        CheckConstraint("char_length(description) <= 2000", name="description"),
        Index("ix_complaints_organization_id_received_on", "organization_id", "received_on"),
        Index("ix_complaints_received_on", "received_on", "id"),
        Index("ix_complaints_status_decision_due_on", "status", "decision_due_on"),
        Index("ix_complaints_cluster_key", "cluster_key"),
    )
