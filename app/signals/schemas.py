from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict

from app.core.types import trimmed

Status = Literal["new", "triaged", "escalated", "dismissed", "closed"]


class SignalOut(BaseModel):
    id: uuid.UUID
    key: str
    method: str
    source: str
    category: str
    region: str
    day: dt.date
    level: int
    status: Status
    rules_version: str
    params: dict[str, Any]
    baseline: dict[str, Any]
    expected: float
    observed: float
    bound: float
    statistic: float
    p_value: float
    records: list[str]
    reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SignalExplained(SignalOut):
    explanation_zh: str
    explanation_en: str


class SignalTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["triaged", "escalated", "dismissed", "closed"]
    reason: Annotated[str, trimmed(min_length=1, max_length=500)] | None = None
