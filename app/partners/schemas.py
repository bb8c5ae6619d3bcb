"""Request and response bodies of the partners API (SPEC §11)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.types import trimmed
from app.organizations.types import Uscc
from app.partners.outbox import EVENT_TYPES

Line = Annotated[str, trimmed(min_length=1, max_length=200)]
Paragraph = Annotated[str, trimmed(min_length=1, max_length=2000)]
TargetList = Literal["red", "black"]
EventType = Literal[
    "list.entered",
    "list.exited",
    "credit.changed",
    "recall.opened",
    "objection.opened",
    "repair.completed",
]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]
MAX_MEASURES_PER_SUBSCRIPTION = 100


class MeasureWrite(BaseModel):
    """Body of `POST /v1/measures` and `PUT /v1/measures/{id}`."""

    model_config = ConfigDict(extra="forbid")

    matter: Line = Field(description="the matter (事项), e.g. 政府采购")
    target_list: TargetList
    measure: Paragraph = Field(description="the reward or punishment")
    department: Line = Field(description="the implementing department")
    legal_basis: Paragraph


class MeasurePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    matter: str
    target_list: TargetList
    measure: str
    department: str
    legal_basis: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreate(BaseModel):
    """Body of `POST /v1/subscriptions`."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    measures: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_MEASURES_PER_SUBSCRIPTION,
        description="the catalogue measures this partner applies; it then owes a `lifted` "
        "acknowledgement for each `list.exited` of the measure's list",
    )


class SubscriptionPublic(BaseModel):
    """A subscription as its owner sees it (never the secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[str]
    measures: list[uuid.UUID]
    status: Literal["enabled", "disabled", "deleted"]
    created_at: dt.datetime
    last_success_at: dt.datetime | None
    failing_since: dt.datetime | None
    disabled_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None


class SubscriptionWithSecret(SubscriptionPublic):
    """The answer to creating a subscription or rotating its secret: shown once."""

    secret: str = Field(description="Standard Webhooks signing secret, `whsec_…`")


class SubscriptionNoticePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    at: dt.datetime
    data: dict[str, object]


class ReplayResult(BaseModel):
    subscription_id: uuid.UUID
    from_seq: int
    requeued: int


class ApplicationCreate(BaseModel):
    """Body of `POST /v1/measures/{id}/applications`."""

    model_config = ConfigDict(extra="forbid")

    uscc: Uscc
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    applied_on: dt.date
    action: Literal["applied", "lifted"]


class ApplicationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    measure_id: uuid.UUID
    uscc: str
    event_id: str | None
    applied_on: dt.date
    action: Literal["applied", "lifted"]
    created_at: dt.datetime


class Unacknowledged(BaseModel):
    """A `list.exited` a subscribed partner has not acknowledged in time."""

    measure_id: uuid.UUID
    subscription_id: uuid.UUID
    partner_key_id: uuid.UUID | None
    uscc: str
    list: TargetList
    event_id: str
    exited_on: dt.date
    due_on: dt.date
