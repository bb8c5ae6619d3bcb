"""Delivery from the outbox to a real HTTP receiver on 127.0.0.1: signatures
(checked with the `standardwebhooks` package), CloudEvents envelope, order per
organization, at least once through an outage and a dispatcher crash, one
slow endpoint not delaying another, and nothing sent for a rolled-back write."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import standardwebhooks
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import journal
from app.core.settings import Settings
from app.partners.dispatcher import Dispatcher
from app.partners.models import Delivery, WebhookEvent
from tests.factories import committed_key, committed_organization
from tests.partners.conftest import Receiver, eventually, settle
from tests.partners.helpers import open_recall, subscribe


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(dispatcher.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def deliveries(engine: AsyncEngine) -> list[Delivery]:
    async with AsyncSession(engine) as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.event_id))).all())


async def all_delivered(engine: AsyncEngine) -> None:
    async def check() -> bool:
        return {d.status for d in await deliveries(engine)} == {"delivered"}

    await eventually(check)


async def test_signed_cloudevents_in_order_per_organization(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    webhook_settings: Settings,
) -> None:
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    sub = await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    orgs = [await committed_organization(engine) for _ in range(3)]
    recalls = defaultdict(list)
    for _ in range(4):
        for uscc in orgs:
            recalls[uscc].append((await open_recall(live_client, regulator, uscc))["id"])
    receiver.hold = 0.01  # requests overlap: order must come from the dispatcher
    async with running(make_dispatcher()):
        await receiver.wait_for(12)
        await all_delivered(engine)
    verifier = standardwebhooks.Webhook(sub["secret"])
    by_org = defaultdict(list)
    for got in receiver.received:
        assert got.headers["content-type"] == "application/cloudevents+json"
        verifier.verify(got.body, got.headers)  # raises on a bad signature
        event = got.event
        assert event["id"] == got.headers["webhook-id"] == f"evt_{event['sequence']}"
        assert event["specversion"] == "1.0"
        assert event["type"] == "recall.opened"
        assert event["source"] == webhook_settings.public_base_url + "/v1"
        assert event["subject"] == event["data"]["uscc"]
        thin = {"uscc", "id", "recall_no", "initiated_on", "kind", "hazard_class"}
        assert set(event["data"]) <= thin
        by_org[event["subject"]].append(event)
    for uscc in orgs:
        assert [e["data"]["id"] for e in by_org[uscc]] == recalls[uscc]
        sequences = [int(e["sequence"]) for e in by_org[uscc]]
        assert sequences == sorted(sequences)


async def test_at_least_once_through_an_outage(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    await receiver.stop()  # down: connections refused
    uscc = await committed_organization(engine)
    for _ in range(3):
        await open_recall(live_client, regulator, uscc)
    async with running(make_dispatcher()):

        async def retried() -> bool:
            return any(d.attempts >= 2 for d in await deliveries(engine))

        await eventually(retried)
        assert receiver.received == []
        receiver.fail_first = 2  # up again, but the first two answers are lost
        await receiver.start()
        await receiver.wait_for(3)
        await all_delivered(engine)
    ids = receiver.ids()
    assert len(ids) == 5 and len(set(ids)) == 3
    first = ids[0]
    copies = [r.body for r in receiver.received if r.headers["webhook-id"] == first]
    assert len(copies) >= 2 and len(set(copies)) == 1  # a duplicate is the same message
    assert ids == sorted(ids, key=lambda i: int(i.removeprefix("evt_")))  # one organization


async def test_a_dispatcher_crash_mid_delivery_loses_nothing(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    uscc = await committed_organization(engine)
    for _ in range(3):
        await open_recall(live_client, regulator, uscc)
    receiver.hold = 30  # the first delivery hangs...
    first = make_dispatcher()
    task = asyncio.create_task(first.run())
    await eventually(lambda: receiver.received)
    task.cancel()  # ...and the dispatcher dies in the middle of it
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert {d.status for d in await deliveries(engine)} == {"pending"}
    receiver.hold = 0
    second = make_dispatcher()
    async with running(second):
        await receiver.wait_for(3)
        await all_delivered(engine)
        assert second.leading.is_set()
    ids = receiver.ids()
    assert ids[0] == ids[1]  # sent again, same webhook-id
    assert len(set(ids)) == 3


async def test_one_dispatcher_leads(
    engine: AsyncEngine, make_dispatcher: Callable[..., Dispatcher]
) -> None:
    a, b = make_dispatcher(), make_dispatcher()
    async with running(a), running(b):
        await eventually(lambda: a.leading.is_set() or b.leading.is_set())
        await asyncio.sleep(0.2)
        assert a.leading.is_set() != b.leading.is_set()
    async with running(b):  # a is gone: b takes over
        await eventually(b.leading.is_set)


async def test_a_slow_endpoint_does_not_delay_another(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    slow = Receiver(hold=5)
    await slow.start()
    try:
        regulator = await committed_key(engine, "regulator")
        partner = await committed_key(engine, "partner")
        await subscribe(live_client, partner, slow.url, ["recall.opened"])
        await subscribe(live_client, partner, receiver.url, ["recall.opened"])
        orgs = [await committed_organization(engine) for _ in range(2)]
        for _ in range(3):
            for uscc in orgs:
                await open_recall(live_client, regulator, uscc)
        async with running(make_dispatcher()):
            # The slow one holds every answer 5 s, past the 2 s timeout: it is stuck
            # on each organization's first event while the other gets all six
            # (allowed 30 s: the machine may be loaded; what matters is the order).
            await receiver.wait_for(6, within=30)
            # The slow one's first request may still be on its way (a loaded machine).
            await slow.wait_for(1, within=30)
            assert len(set(slow.ids())) <= 2
    finally:
        await slow.stop()


async def test_a_rolled_back_write_sends_nothing(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    partner = await committed_key(engine, "partner")
    await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    uscc = await committed_organization(engine)
    data = {"id": "r1", "recall_no": "RC-1", "initiated_on": "2026-11-01"}
    async with AsyncSession(engine) as session:
        await journal.emit(session, "recall.recorded", uscc, data)
        in_outbox = select(WebhookEvent.event_id).where(WebhookEvent.type == "recall.opened")
        assert await session.scalar(in_outbox) is not None  # in the outbox...
        await session.rollback()  # ...until the write is rolled back
    dispatcher = make_dispatcher()
    await settle(dispatcher)
    await asyncio.sleep(0.1)
    assert receiver.received == []
    async with AsyncSession(engine) as session:
        opened = text("SELECT count(*) FROM webhook_events WHERE type = 'recall.opened'")
        assert await session.scalar(opened) == 0
        await journal.emit(session, "recall.recorded", uscc, data | {"id": "r2"})
        await session.commit()
    await settle(dispatcher)
    assert [r.event["data"]["id"] for r in receiver.received] == ["r2"]


async def test_private_target_refused_at_delivery_without_the_flag(
    live_client: AsyncClient,
    engine: AsyncEngine,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    test_settings: Settings,
) -> None:
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    await open_recall(live_client, regulator, await committed_organization(engine))
    # The deployment no longer admits private targets: checked again at delivery.
    strict = test_settings.model_copy(update={"webhook_allow_http": True})
    await settle(make_dispatcher(settings=strict))
    assert receiver.received == []
    [delivery] = await deliveries(engine)
    assert delivery.status == "pending" and delivery.attempts >= 1
    assert delivery.last_error is not None and "not global unicast" in delivery.last_error
