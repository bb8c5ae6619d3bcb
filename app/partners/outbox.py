"""The transactional outbox: a change event that partners may subscribe to is
stored as a webhook event, and one delivery row per matching enabled
subscription, in the transaction that writes the change — so an event exists if
and only if its write committed, and the dispatcher (app/partners/dispatcher.py)
sends only what committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.partners.models import WebhookEvent

# Change-feed types → webhook event types (SPEC §11). A recorded recall is an
# opened one; an approved repair is a completed one.
WEBHOOK_TYPES = {
    "list.entered": "list.entered",
    "list.exited": "list.exited",
    "credit.changed": "credit.changed",
    "recall.recorded": "recall.opened",
    "objection.opened": "objection.opened",
    "repair.approved": "repair.completed",
}
EVENT_TYPES = tuple(sorted(set(WEBHOOK_TYPES.values())))

# Thin payloads: ids, lists, dates (the partner reads the rest with its key).
_THIN_FIELDS = {
    "list.entered": ("list", "publication"),
    "list.exited": ("list", "publication"),
    "credit.changed": ("grade", "a_level", "red_list", "black_list", "as_of"),
    "recall.opened": ("id", "recall_no", "initiated_on", "kind", "hazard_class"),
    "objection.opened": ("id", "record_type", "record_id"),
    "repair.completed": ("id", "violation_id", "decided_on"),
}


class ChangeLike(Protocol):
    """A change event: the feed's row, or the journal's event when it replaces it."""

    seq: int
    type: str
    uscc: str
    at: dt.datetime
    data: dict[str, Any]


def event_id(seq: int) -> str:
    """The CloudEvent `id` and `webhook-id`: stable across retries and replays."""
    return f"evt_{seq}"


def thin_data(webhook_type: str, uscc: str, data: dict[str, Any]) -> dict[str, Any]:
    fields = _THIN_FIELDS[webhook_type]
    return {"uscc": uscc} | {f: data[f] for f in fields if f in data}


FAN_OUT = text(
    "INSERT INTO webhook_deliveries "
    "(subscription_id, seq, uscc, status, attempts, enqueued_at, next_attempt_at) "
    "SELECT s.id, e.seq, e.uscc, 'pending', 0, e.time, e.time "
    "FROM webhook_events e JOIN webhook_subscriptions s "
    "ON s.status = 'enabled' AND e.type = ANY(s.events) "
    "WHERE e.seq >= :first AND e.seq <= :last"
)


async def enqueue(session: AsyncSession, event: ChangeLike) -> None:
    """Store one change event in the outbox for every subscription it matches."""
    await enqueue_many(session, [event])


async def enqueue_many(session: AsyncSession, events: Sequence[ChangeLike]) -> None:
    """Store change events (consecutive seqs) in the outbox, one statement each step."""
    rows: list[dict[str, Any]] = []
    seqs: list[int] = []
    for event in events:
        webhook_type = WEBHOOK_TYPES.get(event.type)
        if webhook_type is None or not event.uscc:
            continue
        seqs.append(event.seq)
        rows.append(
            {
                "seq": event.seq,
                "id": event_id(event.seq),
                "type": webhook_type,
                "uscc": event.uscc,
                "time": event.at,
                "data": thin_data(webhook_type, event.uscc, event.data),
            }
        )
    if not rows:
        return
    await session.execute(insert(WebhookEvent), rows)
    await session.execute(FAN_OUT, {"first": min(seqs), "last": max(seqs)})
