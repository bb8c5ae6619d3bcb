from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.records.schemas import Grade


class ReasonOut(BaseModel):
    rule_id: str
    effect: str = Field(description='a grade cap ("D"), "info", or for BASE the base grade')
    record_type: str
    record_id: uuid.UUID | None
    explanation_zh: str
    explanation_en: str


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
    updated_at: dt.datetime | None = Field(description="when the materialised status was computed")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(min_length=1, max_length=1000)
    ]
    as_of: dt.date | None = None


class BatchResponse(BaseModel):
    results: list[dict[str, Any]]


class RepairCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_id: uuid.UUID
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RepairDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


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
