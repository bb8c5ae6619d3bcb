"""The dispatcher's batches (issue #16): many events of one organization in a
batch still arrive in order, an organization waiting for a retry holds back only
its own later events, connections are kept alive from one delivery to the next,
and a dead endpoint (it accepts connections and never answers) delays no other."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.partners.delivery import RetryPolicy
from app.partners.dispatcher import Dispatcher
from app.partners.models import Delivery, Subscription
from tests.factories import committed_key, committed_organization
from tests.partners.conftest import Receiver, sequenced, settle
from tests.partners.helpers import open_recall, subscribe

# A retry a minute later (not within the test), and a 6-second (or 60-second) timeout.
LATER = RetryPolicy(delays=(60,), repeat=60, jitter=0.0, timeout=6.0)
PATIENT = RetryPolicy(delays=(60,), repeat=60, jitter=0.0, timeout=60.0)


async def test_batches_keep_each_organizations_order(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    subscribed_regulator: dict[str, str],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    regulator = subscribed_regulator
    orgs = [await committed_organization(engine) for _ in range(3)]
    sent: dict[str, list[str]] = defaultdict(list)
    for _ in range(5):
        for uscc in orgs:
            sent[uscc].append((await open_recall(live_client, regulator, uscc))["id"])
    receiver.hold = 0.01  # requests overlap: order must come from the dispatcher
    # Batches of 4: an organization's events span batches and share them.
    await settle(make_dispatcher(batch=4, concurrency=3))
    got: dict[str, list[str]] = defaultdict(list)
    for r in receiver.received:
        got[r.event["subject"]].append(r.event["data"]["id"])
    assert got == sent
    # Kept alive: at most `concurrency` connections carried the 15 deliveries.
    assert len({r.peer for r in receiver.received}) <= 3


async def test_a_retry_holds_back_only_its_organization(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    subscribed_regulator: dict[str, str],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    regulator = subscribed_regulator
    first, second = await committed_organization(engine), await committed_organization(engine)
    await open_recall(live_client, regulator, first)  # this one is refused once...
    for _ in range(2):
        await open_recall(live_client, regulator, second)
    await open_recall(live_client, regulator, first)  # ...and this one waits behind it
    receiver.fail_first = 1
    dispatcher = make_dispatcher(concurrency=1, policy=LATER)  # the first organization first
    await settle(dispatcher)
    subjects = [r.event["subject"] for r in receiver.received]
    assert subjects == [first, second, second]  # the second did not wait
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(Delivery).order_by(Delivery.event_id))).all()
    assert [(d.uscc, d.status, d.attempts) for d in rows] == [
        (first, "pending", 1),
        (second, "delivered", 1),
        (second, "delivered", 1),
        (first, "pending", 0),  # not sent ahead of the event before it
    ]


async def test_a_dead_endpoint_does_not_delay_a_live_one(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    with socket.socket() as dead:  # accepts connections (the backlog), never answers
        dead.bind(("127.0.0.1", 0))
        dead.listen(64)
        port = dead.getsockname()[1]
        regulator = await committed_key(engine, "regulator")
        partner = await committed_key(engine, "partner")
        dead_one = await subscribe(
            live_client, partner, f"http://127.0.0.1:{port}/hook", ["recall.opened"]
        )
        await subscribe(live_client, partner, receiver.url, ["recall.opened"])
        for _ in range(4):
            await open_recall(live_client, regulator, await committed_organization(engine))
        # The dead endpoint's first answer is awaited for 60 s: the live one must
        # have all four long before that, however loaded the machine.
        dispatcher = make_dispatcher(policy=PATIENT)
        await sequenced(engine)  # one tick: the events must be in the feed first
        await dispatcher.tick()
        await receiver.wait_for(4, within=30)
        async with AsyncSession(engine) as session:
            errors = (
                await session.scalars(
                    select(Delivery.last_error).where(
                        Delivery.subscription_id == uuid.UUID(dead_one["id"])
                    )
                )
            ).all()
        assert errors == [None] * 4  # the dead one's are still in flight, unanswered
        workers = list(dispatcher.workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    assert len(receiver.received) == 4


async def test_a_stored_url_registration_would_refuse_fails_like_a_refused_target(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    subscribed_regulator: dict[str, str],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    # A URL stored before the registration check existed (or a flag turned off
    # since): its events are failed attempts with a retry, not a worker that
    # stops at every tick with nothing recorded.
    await open_recall(live_client, subscribed_regulator, await committed_organization(engine))
    async with AsyncSession(engine) as session:
        await session.execute(update(Subscription).values(url=receiver.url + "x\x01"))
        await session.commit()
    await settle(make_dispatcher(policy=LATER))
    async with AsyncSession(engine) as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert [(d.status, d.attempts, d.last_error) for d in rows] == [
        ("pending", 1, "url: may not contain spaces or control characters")
    ]
    assert receiver.received == []
