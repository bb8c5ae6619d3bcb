"""`list.entered` and `list.exited` at publication (one per organization against
the previous publication of the kind), in the outbox of the same transaction;
partners' acknowledgements and the exits still owed a `lifted`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.changes.models import ChangeEvent
from app.core import clock
from app.journal import sequencer
from app.journal.models import FeedSeq
from app.partners import outbox
from app.partners.models import Delivery, WebhookEvent
from tests.lists.helpers import black_listed, publish
from tests.partners.helpers import subscribe
from tests.records.helpers import days_ago

HOOK = "http://127.0.0.1:9/hook"


def measure(**overrides: Any) -> dict[str, Any]:
    return {
        "matter": "政府采购",
        "target_list": "black",
        "measure": "依法限制参与政府采购活动",
        "department": "财政部门",
        "legal_basis": "《政府采购法》第二十二条",
    } | overrides


async def revoke(client: AsyncClient, regulator: dict[str, str], violation_id: str) -> None:
    response = await client.patch(
        f"/v1/violations/{violation_id}",
        json={"revoked_on": days_ago(0), "revoked_reason": "复议撤销"},
        headers=regulator | {"If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text


async def movements(session: AsyncSession) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.type.in_(["list.entered", "list.exited"]))
        .order_by(ChangeEvent.id)
    )
    return [(e.type, e.uscc, e.data) for e in rows]


async def exit_one(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> tuple[str, str]:
    """Two black-listed organizations, publication 1; one leaves, publication 2."""
    leaving, violation = await black_listed(client, session, regulator, decided_on=days_ago(30))
    staying, _ = await black_listed(client, session, regulator, decided_on=days_ago(20))
    await publish(client, regulator, "black")
    await revoke(client, regulator, violation["id"])
    await publish(client, regulator, "black")
    return leaving, staying


async def test_publications_emit_entries_and_exits(
    private_client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    partner: dict[str, str],
) -> None:
    sub = await subscribe(private_client, partner, HOOK, ["list.entered", "list.exited"])
    leaving, staying = await exit_one(private_client, session, regulator)
    entered = sorted([leaving, staying])  # uscc order, as the entries
    assert await movements(session) == [
        *[("list.entered", u, {"uscc": u, "list": "black", "publication": 1}) for u in entered],
        ("list.exited", leaving, {"uscc": leaving, "list": "black", "publication": 2}),
    ]
    outbox = (
        await session.execute(
            select(WebhookEvent.type, WebhookEvent.uscc, Delivery.subscription_id)
            .join(Delivery, Delivery.event_id == WebhookEvent.event_id)
            .order_by(WebhookEvent.event_id)
        )
    ).all()
    assert [(t, u) for t, u, _ in outbox][-1] == ("list.exited", leaving)
    assert {str(s) for _, _, s in outbox} == {sub["id"]}
    assert len(outbox) == 3


async def test_the_journal_listener_fills_the_outbox(
    private_client: AsyncClient, session: AsyncSession, partner: dict[str, str]
) -> None:
    sub = await subscribe(private_client, partner, HOOK, ["list.exited"])
    uscc = "91110105L0HRQ26Q7H"
    data: dict[str, Any] = {"uscc": uscc, "list": "red", "publication": 3, "extra": "x"}
    exited = await journal.emit(session, "list.exited", uscc, data)
    published = await journal.emit(session, "list.published", "", {})
    event = await session.get(WebhookEvent, exited.id)
    assert event is not None and event.type == "list.exited"
    assert event.data == {"uscc": uscc, "list": "red", "publication": 3}  # thin
    delivery = await session.get(Delivery, (uuid.UUID(sub["id"]), exited.id))
    assert delivery is not None and delivery.status == "pending"
    assert await session.get(WebhookEvent, published.id) is None  # not a partner event
    # Named by the feed `seq` the sequencer gives it (not known at write time).
    await sequencer.sequence_pending(session)
    seq = await session.scalar(select(FeedSeq.seq).where(FeedSeq.event_id == exited.id))
    assert seq is not None and outbox.seq_of(outbox.event_id(seq)) == seq


async def test_an_unacknowledged_exit_is_flagged_after_one_working_day(
    private_client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    partner: dict[str, str],
) -> None:
    black = (await private_client.post("/v1/measures", json=measure(), headers=regulator)).json()
    red = (
        await private_client.post(
            "/v1/measures", json=measure(target_list="red", measure="优先采购"), headers=regulator
        )
    ).json()
    sub = await subscribe(
        private_client, partner, HOOK, ["list.exited"], measures=[black["id"], red["id"]]
    )
    leaving, _ = await exit_one(private_client, session, regulator)
    exited_on = clock.today()
    calendar = await calendar_service.current(session)
    due = calendar.working_deadline(exited_on, 1)

    async def owed(on: dt.date) -> list[dict[str, Any]]:
        with clock.frozen(on):
            response = await private_client.get("/v1/measures/unacknowledged", headers=regulator)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    assert await owed(due) == []  # the due day itself: not late yet
    [late] = await owed(due + dt.timedelta(days=1))
    assert late["uscc"] == leaving and late["measure_id"] == black["id"]  # not the red one
    assert late["subscription_id"] == sub["id"] and late["list"] == "black"
    assert late["exited_on"] == exited_on.isoformat() and late["due_on"] == due.isoformat()

    lifted = await private_client.post(
        f"/v1/measures/{black['id']}/applications",
        json={
            "uscc": leaving,
            "event_id": late["event_id"],
            "applied_on": exited_on.isoformat(),
            "action": "lifted",
        },
        headers=partner,
    )
    assert lifted.status_code == 201, lifted.text
    assert await owed(due + dt.timedelta(days=1)) == []
    assert (
        await private_client.get("/v1/measures/unacknowledged", headers=partner)
    ).status_code == 403


async def test_applications_refuse_bad_input(
    private_client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    partner: dict[str, str],
) -> None:
    black = (await private_client.post("/v1/measures", json=measure(), headers=regulator)).json()
    leaving, _ = await exit_one(private_client, session, regulator)
    path = f"/v1/measures/{black['id']}/applications"
    body = {"uscc": leaving, "applied_on": days_ago(0), "action": "applied"}
    future = (clock.today() + dt.timedelta(days=1)).isoformat()
    cases = [
        (body | {"applied_on": future}, 422, "applied_on"),
        (body | {"action": "paused"}, 422, "action"),
        (body | {"uscc": "91110000600037341X"}, 422, "uscc"),
        (body | {"event_id": "evt_999999999"}, 422, "event_id"),
    ]
    for payload, status, field in cases:
        response = await private_client.post(path, json=payload, headers=partner)
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["field"] == field
    unknown = "/v1/measures/00000000-0000-0000-0000-000000000000/applications"
    assert (await private_client.post(unknown, json=body, headers=partner)).status_code == 404
    assert (await private_client.post(path, json=body)).status_code == 401
    assert (await private_client.post(path, json=body, headers=partner)).status_code == 201
