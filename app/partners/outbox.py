"""The transactional outbox: a change event that partners may subscribe to is
stored as a webhook event, and one delivery row per matching enabled
subscription, in the transaction that writes the change — so an event exists if
and only if its write committed, and the dispatcher (app/partners/dispatcher.py)
sends only what committed, once the journal's sequencer has given the event
its feed `seq` (which orders it and names it: `evt_{seq}`).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal

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


def event_id(seq: int) -> str:
    """The CloudEvent `id` and `webhook-id`, from the change feed's `seq` (given
    by the journal's sequencer): stable across retries and replays."""
    return f"evt_{seq}"


def seq_of(webhook_id: str) -> int | None:
    """The feed `seq` a CloudEvent `id` names (None when it names none)."""
    digits = webhook_id.removeprefix("evt_")
    return int(digits) if digits != webhook_id and digits.isdigit() and len(digits) < 19 else None


def thin_data(webhook_type: str, uscc: str, data: dict[str, Any]) -> dict[str, Any]:
    fields = _THIN_FIELDS[webhook_type]
    return {"uscc": uscc} | {f: data[f] for f in fields if f in data}


# One statement: the event (its time is the journal event's) and a delivery per
# matching enabled subscription.
ENQUEUE = text(
    "WITH e AS ("
    "  INSERT INTO webhook_events (event_id, type, uscc, time, data) "
    "  SELECT c.id, :type, c.uscc, c.at, CAST(:data AS jsonb) FROM change_events c "
    "  WHERE c.id = :event_id RETURNING event_id, type, uscc, time) "
    "INSERT INTO webhook_deliveries "
    "(subscription_id, event_id, uscc, status, attempts, enqueued_at, next_attempt_at) "
    "SELECT s.id, e.event_id, e.uscc, 'pending', 0, e.time, e.time "
    "FROM e JOIN webhook_subscriptions s ON s.status = 'enabled' AND e.type = ANY(s.events)"
)


async def enqueue(
    session: AsyncSession, _: journal.Entry | None, event: journal.Event | None
) -> None:
    """The journal listener (registered in app/wiring.py): runs in the writer's
    transaction, so the event is in the outbox if and only if its write committed."""
    if event is None or not event.uscc:
        return
    webhook_type = WEBHOOK_TYPES.get(event.type)
    if webhook_type is None:
        return
    data = thin_data(webhook_type, event.uscc, event.data)
    await session.execute(
        ENQUEUE,
        {"event_id": event.id, "type": webhook_type, "data": orjson.dumps(data).decode()},
    )
