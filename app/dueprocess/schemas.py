"""Due-process shapes (SPEC §9)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.dates import IsoDate
from app.core.types import trimmed

Text = Annotated[str, trimmed(min_length=1, max_length=4000)]
Short = Annotated[str, trimmed(min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoticeCreate(Strict):
    note: Short | None = None


class DeliveryCreate(Strict):
    delivered_on: IsoDate | None = Field(default=None, description="default: the day served")


class NoticeOut(BaseModel):
    id: uuid.UUID
    uscc: str
    kind: Literal["black_list"]
    basis: dict[str, Any] = Field(description="the S rules and the records behind them")
    served_at: dt.datetime
    delivered_on: dt.date | None
    objection_deadline: dt.date | None
    status: Literal["served", "delivered", "withdrawn"]
    withdrawn_on: dt.date | None = None
    disputed: bool = False


RecordType = Literal["violation", "inspection", "recall", "grade", "complaint", "notice"]


class ObjectionCreate(Strict):
    record_type: RecordType
    record_id: uuid.UUID
    grounds: Text
    evidence: Annotated[list[Short], Field(max_length=20)] | None = None


class ObjectionDecision(Strict):
    decision: Literal["upheld", "rejected"]
    reason: Text
    correction: Annotated[dict[str, Any], Field(min_length=1)] | None = Field(
        default=None,
        description="upheld: the corrected fields of the record, a patch of its kind"
        " (absent: the record is revoked)",
    )


class ObjectionOut(BaseModel):
    id: uuid.UUID
    uscc: str
    record_type: str
    record_id: uuid.UUID
    grounds: str
    evidence: list[str] | None
    status: Literal["open", "upheld", "rejected"]
    opened_at: dt.datetime
    due_on: dt.date
    overdue: bool
    decided_at: dt.datetime | None
    decision_reason: str | None
    correction: dict[str, Any] | None
    late: bool
