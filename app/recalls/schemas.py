"""Bodies of the recall-effectiveness endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.dates import IsoDate
from app.core.types import trimmed
from app.records.schemas import Gtin

Level = Annotated[str, trimmed(min_length=1, max_length=40)]
Channel = Annotated[str, trimmed(min_length=1, max_length=40)]
Count = Annotated[int, Field(ge=0, le=10**12)]
MAX_LEVELS = 10
MAX_CHANNELS = 20


class LevelProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level = Field(
        description="distribution level: manufacturer, distributor, retailer, consumer, …"
    )
    distributed: Count = Field(description="units that reached this level")
    corrected: Count = Field(description="units corrected (returned, repaired, replaced)")

    @model_validator(mode="after")
    def _not_more_than_distributed(self) -> Self:
        if self.corrected > self.distributed:
            raise ValueError("corrected is more than distributed")
        return self


class ProgressCreate(BaseModel):
    """Body of `POST /v1/recalls/{id}/progress`."""

    model_config = ConfigDict(extra="forbid")

    reported_on: IsoDate | None = Field(default=None, description="default: today")
    levels: list[LevelProgress] = Field(min_length=1, max_length=MAX_LEVELS)
    notifications: dict[Channel, Count] = Field(
        default_factory=dict,
        max_length=MAX_CHANNELS,
        description="notifications sent, by channel (sms, letter, media, app, …)",
    )
    planned_completion_on: IsoDate | None = None

    @model_validator(mode="after")
    def _levels_once(self) -> Self:
        names = [lv.level for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError("levels: each level may appear once")
        return self


class ProgressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recall_id: uuid.UUID
    reported_on: dt.date
    levels: list[LevelProgress]
    notifications: dict[str, int]
    planned_completion_on: dt.date | None
    created_at: dt.datetime


class LevelRate(LevelProgress):
    correction_rate: float | None


class Evidence(BaseModel):
    """What the item codes say, serial by serial."""

    item_codes: int = Field(description="item codes issued for the recalled product and lots")
    items_scanned_after_recall: int = Field(
        description="distinct recalled items scanned on or after the recall's first day: "
        "still in use"
    )
    scans_after_recall: int
    returned_confirmations: int = Field(description='consumers\' "I returned it" confirmations')


class Effectiveness(BaseModel):
    recall_id: uuid.UUID
    recall_no: str
    status: str
    initiated_on: dt.date
    units: int | None
    reported_on: dt.date | None
    levels: list[LevelRate]
    notifications: dict[str, int]
    distributed: int
    corrected: int
    correction_rate: float | None = Field(description="corrected ÷ distributed, all levels")
    planned_completion_on: dt.date | None
    overdue: bool = Field(description="ongoing after its planned completion day")
    evidence: Evidence


class ReturnCreate(BaseModel):
    """Body of `POST /v1/recalls/{id}/returns`: the item code of the returned item."""

    model_config = ConfigDict(extra="forbid")

    gtin: Gtin
    lot: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    serial: Annotated[str, StringConstraints(min_length=1, max_length=20)]
