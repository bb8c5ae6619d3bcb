"""The webhook payloads in the OpenAPI document (OpenAPI 3.1 `webhooks`): what a
partner's endpoint receives, one operation per event type (SPEC §11)."""

# No `from __future__ import annotations`: FastAPI reads the annotations below.

import datetime as dt
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Body, FastAPI, Header
from pydantic import BaseModel, Field

D = TypeVar("D")


class ListMovement(BaseModel):
    uscc: str
    list: Literal["red", "black"]
    publication: int = Field(description="the publication's number (per list)")


class CreditChanged(BaseModel):
    uscc: str
    grade: str
    a_level: bool
    red_list: bool
    black_list: bool
    as_of: dt.date


class RecallOpened(BaseModel):
    uscc: str
    id: uuid.UUID
    recall_no: str
    initiated_on: dt.date
    kind: Literal["voluntary", "ordered"]
    hazard_class: int


class ObjectionOpened(BaseModel):
    uscc: str
    id: uuid.UUID
    record_type: str
    record_id: uuid.UUID


class RepairCompleted(BaseModel):
    uscc: str
    id: uuid.UUID
    violation_id: uuid.UUID | None = Field(
        default=None, description="absent once the violation is past its publication period"
    )
    decided_on: dt.date


class CloudEvent(BaseModel, Generic[D]):
    """A CloudEvents 1.0 event in structured mode (`application/cloudevents+json`)."""

    specversion: Literal["1.0"]
    id: str = Field(description="`evt_{seq}`; equal to `webhook-id`, stable across retries")
    source: str = Field(description="QCR_PUBLIC_BASE_URL + `/v1`")
    type: str
    subject: str = Field(description="the organization's USCC")
    time: dt.datetime
    sequence: str = Field(description="the change feed's `seq` (CloudEvents sequence: a string)")
    datacontenttype: Literal["application/json"]
    data: D


WebhookId = Annotated[str, Header(alias="webhook-id", description="the event `id`")]
WebhookTimestamp = Annotated[
    str, Header(alias="webhook-timestamp", description="Unix seconds of this attempt")
]
WebhookSignature = Annotated[
    str,
    Header(
        alias="webhook-signature",
        description="`v1,<base64 HMAC-SHA256>` per secret in force, space-separated "
        "(Standard Webhooks)",
    ),
]
MEDIA = "application/cloudevents+json"
RESPONSES: dict[int | str, dict[str, Any]] = {
    "2XX": {"description": "received: any 2xx within 15 seconds; anything else is retried"}
}


def install(app: FastAPI) -> None:
    """Describe each event a subscription can receive."""

    @app.webhooks.post("list.entered", responses=RESPONSES, operation_id="webhook_list_entered")
    def list_entered(
        event: Annotated[CloudEvent[ListMovement], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """An organization is on a list's new publication and was not on the previous one."""

    @app.webhooks.post("list.exited", responses=RESPONSES, operation_id="webhook_list_exited")
    def list_exited(
        event: Annotated[CloudEvent[ListMovement], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """An organization left a list. A partner subscribed to a measure of that list
        owes `POST /v1/measures/{id}/applications` with `lifted` within 1 working day."""

    @app.webhooks.post("credit.changed", responses=RESPONSES, operation_id="webhook_credit_changed")
    def credit_changed(
        event: Annotated[CloudEvent[CreditChanged], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """An organization's computed credit changed (grade, A-level, lists)."""

    @app.webhooks.post("recall.opened", responses=RESPONSES, operation_id="webhook_recall_opened")
    def recall_opened(
        event: Annotated[CloudEvent[RecallOpened], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """A recall was recorded."""

    @app.webhooks.post(
        "objection.opened", responses=RESPONSES, operation_id="webhook_objection_opened"
    )
    def objection_opened(
        event: Annotated[CloudEvent[ObjectionOpened], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """An objection was filed against a record (sent once objections exist, SPEC §9)."""

    @app.webhooks.post(
        "repair.completed", responses=RESPONSES, operation_id="webhook_repair_completed"
    )
    def repair_completed(
        event: Annotated[CloudEvent[RepairCompleted], Body(media_type=MEDIA)],
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """A credit repair was approved."""
