from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.dates import IsoDate
from app.core.routing import Problem
from app.core.types import trimmed
from app.records.schemas import Grade


class ReasonOut(BaseModel):
    rule_id: str
    effect: str = Field(description='a grade cap ("D"), "info", or for BASE the base grade')
    record_type: str
    record_id: uuid.UUID | None
    explanation_zh: str
    explanation_en: str
    disputed: bool | None = Field(
        default=None, description="policy v2: the record is under objection (it still counts)"
    )


class CreditOut(BaseModel):
    uscc: str
    grade: Grade
    assessed_grade: Grade
    a_level: bool
    red_list: bool
    black_list: bool
    reasons: list[ReasonOut]
    policy_version: str
    as_of: dt.date
    known_at: dt.datetime | None = None
    holds_until: dt.date | None = Field(
        description="the last day this result holds without a new record (null: indefinitely)"
    )
    listed_since: dt.date | None = Field(description="black list: continuously listed since")
    expected_exit: dt.date | None = Field(
        description="black list: first day off it, absent changes"
    )
    black_list_pending: bool = Field(
        default=False,
        description="policy v2: an S rule holds, the notice's objection window has not passed",
    )
    notice_id: uuid.UUID | None = Field(
        default=None, description="policy v2: the notice of the pending listing"
    )
    updated_at: dt.datetime | None = Field(description="when the materialised status was computed")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(min_length=1, max_length=1000)
    ]
    as_of: IsoDate | None = None


class BatchCredit(CreditOut):
    """A batch result for a code that names an organization: its credit."""

    code: str = Field(description="the code as sent")


class BatchError(BaseModel):
    """A batch result for a code that is invalid or names no organization."""

    code: str = Field(description="the code as sent")
    error: Problem


class BatchResponse(BaseModel):
    results: list[BatchCredit | BatchError] = Field(
        description="one result per code, in request order: the credit fields or `error`"
    )


class RepairCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_id: uuid.UUID
    reason: Annotated[str, trimmed(min_length=1, max_length=2000)]


class RepairDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    reason: Annotated[str, trimmed(min_length=1, max_length=2000)]


class RepairOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    violation_id: uuid.UUID
    reason: str
    status: Literal["pending", "approved", "rejected"]
    requested_role: str
    created_at: dt.datetime
    decided_on: dt.date | None
    decision_reason: str | None
