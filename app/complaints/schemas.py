"""Complaint shapes by audience: what is posted, what the business and a
regulator see (only a regulator sees the complainant, art. 33)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.codes.schemas import Gtin, Lot
from app.core.dates import IsoDate
from app.core.types import trimmed
from app.organizations.types import Uscc

Kind = Literal["complaint", "report"]
Status = Literal[
    "received",
    "accepted",
    "rejected",
    "mediating",
    "resolved",
    "terminated",
    "verified",
    "case_opened",
    "closed",
]
Target = Literal[
    "accepted",
    "rejected",
    "mediating",
    "resolved",
    "terminated",
    "verified",
    "extended",
    "case_opened",
    "closed",
]
Category = Annotated[str, trimmed(min_length=1, max_length=40)]
Description = Annotated[str, trimmed(min_length=1, max_length=2000)]
Serial = Annotated[str, trimmed(min_length=1, max_length=20)]
Reason = Annotated[str, trimmed(min_length=1, max_length=500)]


class Complainant(BaseModel):
    """The complainant of art. 9 (1): name, telephone, postal address. Private."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, trimmed(min_length=1, max_length=100)]
    phone: Annotated[str, trimmed(min_length=3, max_length=40)]
    address: Annotated[str, trimmed(min_length=1, max_length=300)]


class ComplaintCreate(BaseModel):
    """`POST /v1/complaints`: at least one of `gtin` or `uscc`."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    gtin: Gtin | None = None
    lot: Lot | None = None
    serial: Serial | None = Field(default=None, description="proof of scan: must verify")
    uscc: Uscc | None = Field(default=None, description="the business; filled from the code")
    category: Category = Field(examples=["质量问题"])
    description: Description
    complainant: Complainant | None = Field(
        default=None, description="required for a complaint (art. 9); private (art. 33)"
    )
    channel: Literal["12315", "12365"] | None = Field(
        default=None, description="regulators' intake line"
    )
    authority: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        Field(default=None, description="the handling authority (regulators; default: the region)")
    )


class TransitionCreate(BaseModel):
    """`POST /v1/complaints/{id}/transitions`."""

    model_config = ConfigDict(extra="forbid")

    to: Target
    reason: Reason | None = Field(
        default=None,
        description="rejected: an art. 15 reason; terminated: an art. 21 reason; "
        "extended: why (free text)",
    )
    note: Reason | None = None
    substantiated: bool | None = Field(
        default=None, description="required when resolving or closing"
    )
    testing_from: IsoDate | None = Field(default=None, description="mediating → mediating")
    testing_to: IsoDate | None = None
    on: IsoDate | None = Field(default=None, description="the day of the act (default today)")


class ComplaintOut(BaseModel):
    """What the business (its own complaints) sees: never the complainant."""

    id: uuid.UUID
    kind: Kind
    status: Status
    source: str
    channel: str | None
    authority: str
    uscc: str
    gtin: str | None
    lot: str | None
    serial: str | None
    scan_proof: bool
    category: str
    anonymous: bool
    received_on: dt.date
    due_on: dt.date | None
    decision_due_on: dt.date
    overdue: bool
    decided_on: dt.date | None
    accepted_on: dt.date | None
    mediation_due_on: dt.date | None
    testing_periods: list[dict[str, str]]
    extended: bool
    extension_reason: str | None
    closed_on: dt.date | None
    outcome_reason: str | None
    substantiated: bool | None
    substantiated_on: dt.date | None
    cluster_size: int
    created_at: dt.datetime
    version: int
    disputed: bool = Field(
        default=False, description="an objection on it is open (异议处理中, SPEC §9)"
    )


class ComplaintPrivileged(ComplaintOut):
    """A regulator's view, with the complainant and the account (art. 33: the
    handling regulators only; the business gets what mediation needs)."""

    description: str
    complainant: dict[str, str] | None


class ComplaintStats(BaseModel):
    authority: str | None
    from_: dt.date | None = Field(alias="from")
    to: dt.date | None
    received: int
    decided_in_time: int
    accepted: int
    closed: int
    handled_rate: float | None = Field(
        description="complaints decided (accepted or rejected) by their due day ÷ received"
    )
    closed_rate: float | None = Field(description="complaints in a final status ÷ accepted")
    reports_received: int
    reports_verified_in_time: int

    model_config = ConfigDict(populate_by_name=True)
