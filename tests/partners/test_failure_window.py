"""Failure rules with a frozen clock: an event fails 3 days after it was
enqueued, an endpoint with no success for 5 days is disabled and its owner
told; enabling, replaying and rotating the secret."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import standardwebhooks
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.partners import subscriptions
from app.partners.delivery import RetryPolicy
from app.partners.dispatcher import Dispatcher
from app.partners.models import Delivery, Subscription
from tests.factories import committed_key, committed_organization
from tests.partners.conftest import FrozenClock, Receiver, settle
from tests.partners.helpers import open_recall, subscribe

SLOW = RetryPolicy(delays=(60,), repeat=3600, jitter=0.0, timeout=2.0)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


async def state(engine: AsyncEngine) -> tuple[Subscription, list[Delivery]]:
    async with AsyncSession(engine) as session:
        sub = await session.scalar(select(Subscription))
        rows = (await session.scalars(select(Delivery).order_by(Delivery.event_id))).all()
    assert sub is not None
    return sub, list(rows)


async def test_failed_after_three_days_disabled_after_five(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.status = 500
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    created = await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    uscc = await committed_organization(engine)
    await open_recall(live_client, regulator, uscc)
    clock = FrozenClock()
    dispatcher = make_dispatcher(clock=clock, policy=SLOW)
    await settle(dispatcher)
    sub, [delivery] = await state(engine)
    assert len(receiver.received) == 1 and delivery.status == "pending"
    assert sub.failing_since == clock.now
    assert delivery.next_attempt_at == clock.now + dt.timedelta(seconds=60)

    clock.advance(3 * DAY - 2 * SECOND)
    await settle(dispatcher)
    sub, [delivery] = await state(engine)
    assert delivery.status == "pending"  # the window's last try is still ahead
    clock.advance(2 * SECOND)  # 3 days after it was enqueued
    await settle(dispatcher)
    sub, [delivery] = await state(engine)
    assert delivery.status == "failed" and sub.status == "enabled"

    assert sub.failing_since is not None
    clock.now = sub.failing_since + 5 * DAY - SECOND
    await settle(dispatcher)
    sub, _ = await state(engine)
    assert sub.status == "enabled"
    clock.advance(SECOND)  # 5 days without a success
    await settle(dispatcher)
    sub, _ = await state(engine)
    assert sub.status == "disabled" and sub.disabled_at == clock.now
    async with AsyncSession(engine) as session:  # what the console lists
        assert [d.id for d in await subscriptions.disabled_subscriptions(session)] == [sub.id]

    path = f"/v1/subscriptions/{created['id']}"
    notices = (await live_client.get(f"{path}/notices", headers=partner)).json()["items"]
    assert [n["type"] for n in notices] == ["subscription.disabled"]
    assert (await live_client.get(path, headers=partner)).json()["status"] == "disabled"

    # Disabled: new events are not queued for it, nothing is sent.
    await open_recall(live_client, regulator, uscc)
    sent = len(receiver.received)
    await settle(dispatcher)
    assert len(receiver.received) == sent
    enabled = await live_client.post(f"{path}/enable", headers=partner)
    assert enabled.status_code == 200 and enabled.json()["status"] == "enabled"


async def test_replay_sends_again_with_the_same_id_signed_with_both_secrets(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    created = await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    uscc = await committed_organization(engine)
    for _ in range(2):
        await open_recall(live_client, regulator, uscc)
    dispatcher = make_dispatcher()
    await settle(dispatcher)
    _, second = receiver.received
    path = f"/v1/subscriptions/{created['id']}"
    rotated = (await live_client.post(f"{path}/rotate-secret", headers=partner)).json()
    from_seq = int(second.event["sequence"])
    replayed = await live_client.post(f"{path}/replay?from_seq={from_seq}", headers=partner)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["requeued"] == 1
    await settle(dispatcher)
    again = receiver.received[-1]
    assert len(receiver.received) == 3
    assert again.headers["webhook-id"] == second.headers["webhook-id"]
    assert again.body == second.body
    for secret in (created["secret"], rotated["secret"]):  # the old one for 24 hours
        standardwebhooks.Webhook(secret).verify(again.body, again.headers)
    bad = await live_client.post(f"{path}/replay?from_seq=-1", headers=partner)
    assert bad.status_code == 422
