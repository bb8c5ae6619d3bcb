"""Webhook subscriptions: create, read, delete, enable, rotate the secret, replay,
and disabling an endpoint that has had no success for 5 days (SPEC §11)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import Conflict, invalid
from app.core.principal import SYSTEM, Principal
from app.partners import signing, targets
from app.partners.models import Measure, Subscription, SubscriptionNotice
from app.partners.schemas import SubscriptionCreate

log = structlog.get_logger("qcr.webhooks")
MAX_SUBSCRIPTIONS_PER_KEY = 20
MAX_REPLAY = 10_000
OLD_SECRET_VALID = dt.timedelta(hours=24)


def audit_view(sub: Subscription) -> dict[str, Any]:
    """What the audit log keeps of a subscription: never a secret."""
    return {
        "url": sub.url,
        "events": list(sub.events),
        "measures": [str(m) for m in sub.measures],
        "status": sub.status,
    }


SUBSCRIPTION = journal.Audited("subscription", audit_view)


async def notify(session: AsyncSession, sub_id: uuid.UUID, type: str, **data: Any) -> None:
    """An entry on the subscription's own feed (`GET /v1/subscriptions/{id}/notices`)."""
    at = await db_now(session)
    session.add(SubscriptionNotice(subscription_id=sub_id, type=type, at=at, data=data))
    await session.flush()


async def create(
    session: AsyncSession, actor: Principal, body: SubscriptionCreate, rules: targets.TargetRules
) -> Subscription:
    """Register an endpoint after checking its URL and every address it resolves to."""
    await targets.check_target(body.url, rules)
    measures = list(dict.fromkeys(body.measures or []))
    if measures:
        known = set(await session.scalars(select(Measure.id).where(Measure.id.in_(measures))))
        for i, measure_id in enumerate(body.measures or []):
            if measure_id not in known:
                raise invalid(f"measures[{i}]", f"no measure {measure_id} in the catalogue")
        if "list.exited" not in body.events:
            raise invalid("events", "must include list.exited when measures are given")
    owned = await session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.created_by == actor.key_id, Subscription.status != "deleted")
    )
    if (owned or 0) >= MAX_SUBSCRIPTIONS_PER_KEY:
        raise Conflict(f"a key may hold at most {MAX_SUBSCRIPTIONS_PER_KEY} subscriptions")
    sub = Subscription(
        url=body.url,
        events=list(dict.fromkeys(body.events)),
        measures=measures,
        status="enabled",
        secret=signing.new_secret(),
        created_by=actor.key_id,
        created_at=await db_now(session),
    )
    return await SUBSCRIPTION.save(session, actor, sub, "subscription.create")


def _readable(actor: Principal, *, deleted: bool = False) -> Any:
    statement = select(Subscription)
    if not deleted:
        statement = statement.where(Subscription.status != "deleted")
    if not actor.is_regulator:  # a partner sees its own key's subscriptions only
        statement = statement.where(Subscription.created_by == actor.key_id)
    return statement


async def find(
    session: Reader,
    actor: Principal,
    sub_id: uuid.UUID,
    *,
    for_update: bool = False,
    deleted: bool = False,
) -> Subscription:
    statement = _readable(actor, deleted=deleted).where(Subscription.id == sub_id)
    return await one_or_404(session, statement, f"no subscription {sub_id}", for_update=for_update)


async def page(
    session: Reader, actor: Principal, *, after: uuid.UUID | None, limit: int
) -> list[Subscription]:
    statement = _readable(actor).order_by(Subscription.id).limit(limit)
    if after is not None:
        statement = statement.where(Subscription.id > after)
    return list((await session.scalars(statement)).all())


async def delete(session: AsyncSession, actor: Principal, sub_id: uuid.UUID) -> None:
    """Stop deliveries for good (the row stays, for the audit and the acknowledgements)."""
    sub = await find(session, actor, sub_id, for_update=True)
    before = audit_view(sub)
    sub.status, sub.deleted_at = "deleted", await db_now(session)
    await SUBSCRIPTION.save(session, actor, sub, "subscription.delete", before=before)


async def enable(
    session: AsyncSession, actor: Principal, sub_id: uuid.UUID, rules: targets.TargetRules
) -> Subscription:
    """Enable a disabled endpoint (checked again); its pending events start a new
    3-day window."""
    sub = await find(session, actor, sub_id, for_update=True)
    await targets.check_target(sub.url, rules)
    before = audit_view(sub)
    now = await db_now(session)
    sub.status, sub.disabled_at, sub.failing_since = "enabled", None, None
    await session.execute(
        text(
            "UPDATE webhook_deliveries SET enqueued_at = :now, next_attempt_at = :now "
            "WHERE subscription_id = :sub AND status = 'pending'"
        ),
        {"now": now, "sub": sub.id},
    )
    await notify(session, sub.id, "subscription.enabled")
    return await SUBSCRIPTION.save(session, actor, sub, "subscription.enable", before=before)


async def rotate_secret(session: AsyncSession, actor: Principal, sub_id: uuid.UUID) -> Subscription:
    """A new secret; the old one keeps signing (a second signature) for 24 hours."""
    sub = await find(session, actor, sub_id, for_update=True)
    now = await db_now(session)
    sub.previous_secret, expires = sub.secret, now + OLD_SECRET_VALID
    sub.previous_secret_expires_at = expires
    sub.secret = signing.new_secret()
    await notify(
        session,
        sub.id,
        "subscription.secret_rotated",
        previous_secret_expires_at=expires.isoformat(),
    )
    return await SUBSCRIPTION.save(session, actor, sub, "subscription.rotate_secret")


# `from_seq` is the change feed's `seq` (the journal sequencer's, change_sequence).
REPLAY = text(
    "INSERT INTO webhook_deliveries "
    "(subscription_id, event_id, uscc, status, attempts, enqueued_at, next_attempt_at) "
    "SELECT :sub, e.event_id, e.uscc, 'pending', 0, :now, :now FROM webhook_events e "
    "JOIN change_sequence q ON q.event_id = e.event_id "
    "WHERE q.seq >= :from_seq AND e.type = ANY(:events) ORDER BY q.seq LIMIT :limit "
    "ON CONFLICT (subscription_id, event_id) DO UPDATE SET status = 'pending', attempts = 0, "
    "enqueued_at = :now, next_attempt_at = :now, delivered_at = NULL, last_error = NULL"
)


async def replay(session: AsyncSession, actor: Principal, sub_id: uuid.UUID, from_seq: int) -> int:
    """Queue again every event of the subscription's types from change-feed `seq`
    `from_seq` on (delivered and failed ones included; same `webhook-id`)."""
    sub = await find(session, actor, sub_id, for_update=True)
    now = await db_now(session)
    result = await session.execute(
        REPLAY,
        {
            "sub": sub.id,
            "now": now,
            "from_seq": from_seq,
            "events": list(sub.events),
            "limit": MAX_REPLAY,
        },
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    await notify(session, sub.id, "subscription.replay", from_seq=from_seq, requeued=count)
    return count


async def disable_failing(session: AsyncSession, now: dt.datetime, after: dt.timedelta) -> int:
    """Disable enabled endpoints whose failures began `after` ago with no success
    since; each owner is told on its subscription's feed, and a console line."""
    disabled = (
        await session.execute(
            update(Subscription)
            .where(Subscription.status == "enabled", Subscription.failing_since <= now - after)
            .values(status="disabled", disabled_at=now)
            .returning(Subscription.id, Subscription.failing_since)
        )
    ).all()
    for sub_id, failing_since in disabled:
        await notify(
            session,
            sub_id,
            "subscription.disabled",
            reason="no successful delivery for 5 days",
            failing_since=failing_since.isoformat() if failing_since else None,
        )
        await journal.record(
            session,
            SYSTEM,
            action="subscription.disable",
            entity="subscription",
            entity_id=str(sub_id),
            after={"status": "disabled"},
        )
        log.warning("webhook_subscription_disabled", subscription_id=str(sub_id))
    return len(disabled)


async def notices(
    session: Reader, actor: Principal, sub_id: uuid.UUID, *, after: int, limit: int
) -> list[SubscriptionNotice]:
    await find(session, actor, sub_id, deleted=True)  # its history outlives it
    return list(
        (
            await session.scalars(
                select(SubscriptionNotice)
                .where(SubscriptionNotice.subscription_id == sub_id, SubscriptionNotice.id > after)
                .order_by(SubscriptionNotice.id)
                .limit(limit)
            )
        ).all()
    )


async def disabled_subscriptions(session: AsyncSession, limit: int = 50) -> list[Subscription]:
    """Disabled endpoints, newest first: the console's list for regulators."""
    statement = (
        select(Subscription)
        .where(Subscription.status == "disabled")
        .order_by(Subscription.disabled_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())
