"""Partners' acknowledgements of measures, and the exits still owed a `lifted`.

A partner subscribed to a measure owes, for each `list.exited` of the measure's
list sent to that subscription, a `lifted` acknowledgement within 1 working day
of the Chinese calendar (app/calendar; the period starts the day after the exit,
SPEC §9): an exit must reach every partner that punished. One is owed until the
partner (the subscription's key) records a `lifted` of that measure for that
organization naming the event, or applied on or after the exit day.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.calendar.days import WorkCalendar
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.errors import invalid
from app.core.principal import Principal
from app.core.settings import get_settings
from app.journal.models import FeedSeq
from app.organizations import service as organization_service
from app.partners import measures, outbox
from app.partners.models import MeasureApplication, WebhookEvent
from app.partners.schemas import ApplicationCreate, Unacknowledged

ACK_WORKING_DAYS = 1


def audit_view(application: MeasureApplication) -> dict[str, Any]:
    return {
        "measure_id": str(application.measure_id),
        "uscc": application.uscc,
        "event_id": application.event_id,
        "applied_on": application.applied_on.isoformat(),
        "action": application.action,
    }


APPLICATION = journal.Audited("measure_application", audit_view, lambda a: a.uscc)


async def record(
    session: AsyncSession, actor: Principal, measure_id: uuid.UUID, body: ApplicationCreate
) -> MeasureApplication:
    """Record that the partner applied or lifted a catalogue measure."""
    measure = await measures.find(session, measure_id)
    org = await organization_service.find(session, body.uscc)
    if body.applied_on > today():
        raise invalid("applied_on", "is after today")
    if body.event_id is not None:
        seq = outbox.seq_of(body.event_id)
        event = (
            await session.scalar(
                select(WebhookEvent)
                .join(FeedSeq, FeedSeq.event_id == WebhookEvent.event_id)
                .where(FeedSeq.seq == seq)
            )
            if seq is not None
            else None
        )
        if event is None:
            raise invalid("event_id", "no such event")
        if event.uscc != org.uscc:
            raise invalid("event_id", "is about another organization")
    application = MeasureApplication(
        measure_id=measure.id,
        uscc=org.uscc,
        event_id=body.event_id,
        applied_on=body.applied_on,
        action=body.action,
        created_by=actor.key_id,
        created_at=await db_now(session),
    )
    return await APPLICATION.save(session, actor, application, f"measure.{body.action}")


def due_on(calendar: WorkCalendar, exited_on: dt.date) -> dt.date:
    """The day a `lifted` is due: 1 working day after the exit (Chinese calendar)."""
    return calendar.working_deadline(exited_on, ACK_WORKING_DAYS)


def latest_overdue_exit_day(calendar: WorkCalendar, on: dt.date) -> dt.date:
    """The last exit day whose acknowledgement is overdue on `on` (due before it)."""
    day = on - dt.timedelta(days=1)
    while due_on(calendar, day) >= on:
        day -= dt.timedelta(days=1)
    return day


OWED = text(
    "SELECT m.id AS measure_id, s.id AS subscription_id, s.created_by AS partner_key_id, "
    "  e.uscc, e.data->>'list' AS list, 'evt_' || q.seq AS event_id, q.seq, "
    "  (e.time AT TIME ZONE :tz)::date AS exited_on "
    "FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.event_id = d.event_id AND e.type = 'list.exited' "
    "JOIN change_sequence q ON q.event_id = e.event_id "
    "JOIN webhook_subscriptions s ON s.id = d.subscription_id "
    "JOIN measures m ON m.id = ANY(s.measures) AND m.target_list = e.data->>'list' "
    "WHERE (e.time AT TIME ZONE :tz)::date <= :cutoff "
    "  AND (q.seq, m.id) > (:after_seq, :after_measure) "
    "  AND NOT EXISTS (SELECT 1 FROM measure_applications a "
    "    WHERE a.measure_id = m.id AND a.uscc = e.uscc AND a.action = 'lifted' "
    "      AND a.created_by IS NOT DISTINCT FROM s.created_by "
    "      AND (a.event_id = 'evt_' || q.seq OR a.applied_on >= (e.time AT TIME ZONE :tz)::date)) "
    "ORDER BY q.seq, m.id LIMIT :limit"
)


async def unacknowledged(
    session: Reader, *, after: tuple[int, uuid.UUID] | None, limit: int
) -> tuple[list[Unacknowledged], tuple[int, uuid.UUID] | None]:
    """Exits owed a `lifted` past their due day, oldest first, and the next position."""
    after_seq, after_measure = after or (0, uuid.UUID(int=0))
    calendar = await calendar_service.current(session)
    on = today()
    calendar_service.warn_unknown(calendar, on - dt.timedelta(days=30), on)
    rows = (
        await session.execute(
            OWED,
            {
                "tz": get_settings().timezone,
                "cutoff": latest_overdue_exit_day(calendar, on),
                "after_seq": after_seq,
                "after_measure": after_measure,
                "limit": limit + 1,
            },
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_item(calendar, r) for r in rows]
    return items, ((rows[-1].seq, rows[-1].measure_id) if more else None)


def _item(calendar: WorkCalendar, row: Any) -> Unacknowledged:
    return Unacknowledged(
        measure_id=row.measure_id,
        subscription_id=row.subscription_id,
        partner_key_id=row.partner_key_id,
        uscc=row.uscc,
        list=row.list,
        event_id=row.event_id,
        exited_on=row.exited_on,
        due_on=due_on(calendar, row.exited_on),
    )
