"""Notices before a black listing (SPEC §9): served when an S rule first holds,
delivered, the objection window on the Chinese calendar, listed only after it."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.credit import service as credit_service
from tests.dueprocess.conftest import TODAY, credit, listed_pending
from tests.factories import make_key, make_organization


async def test_s_rule_under_v2_serves_a_notice_and_is_pending(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, violation, own = await listed_pending(client, session, regulator)
    status = await credit(client, uscc)
    assert (status["grade"], status["black_list"], status["black_list_pending"]) == (
        "D",
        False,
        True,
    )
    assert status["policy_version"] == "v2"
    listed = (await client.get(f"/v1/organizations/{uscc}/notices", headers=own)).json()["items"]
    assert [n["id"] for n in listed] == [status["notice_id"]]
    notice = listed[0]
    assert notice["status"] == "served" and notice["objection_deadline"] is None
    assert notice["basis"] == {
        "rules": ["S1"],
        "records": [{"record_type": "violation", "record_id": violation["id"]}],
    }
    # A second write in the same episode serves no second notice.
    await client.patch(
        f"/v1/violations/{violation['id']}",
        json={"public_summary": "更正"},
        headers=regulator | {"If-Match": '"v1"'},
    )
    again = (await client.get(f"/v1/organizations/{uscc}/notices", headers=regulator)).json()
    assert len(again["items"]) == 1


async def test_notices_are_never_public(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, _, _ = await listed_pending(client, session, regulator)
    other = await make_key(session, "enterprise", await make_organization(session))
    partner = await make_key(session, "partner")
    path = f"/v1/organizations/{uscc}/notices"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=partner)).status_code == 403
    assert (await client.get(path, headers=other)).status_code == 404
    notice_id = (await credit(client, uscc))["notice_id"]
    assert (await client.get(f"/v1/notices/{notice_id}", headers=other)).status_code == 404
    page = await client.get(f"/organizations/{uscc}")
    assert page.status_code == 200 and notice_id not in page.text


async def test_listed_the_day_after_the_deadline_moved_past_the_dragon_boat_festival(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    with clock.frozen(TODAY.replace(day=8)):  # served Monday 06-08
        uscc, _, _ = await listed_pending(client, session, regulator)
        notice_id = (await credit(client, uscc))["notice_id"]
    # Delivered Tuesday 06-09: ten days end Friday 06-19, a holiday; then a weekend.
    delivered = await client.post(
        f"/v1/notices/{notice_id}/delivery", json={"delivered_on": "2026-06-09"}, headers=regulator
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["objection_deadline"] == "2026-06-22"
    assert delivered.json()["status"] == "delivered"
    again = await client.post(f"/v1/notices/{notice_id}/delivery", json={}, headers=regulator)
    assert again.status_code == 409
    with clock.frozen(TODAY.replace(day=22)):
        last_day = await credit(client, uscc)
        assert (last_day["black_list"], last_day["black_list_pending"]) == (False, True)
    with clock.frozen(TODAY.replace(day=23)):
        assert await credit_service.refresh_due(session) >= 1
        day_after = await credit(client, uscc)
        assert (day_after["black_list"], day_after["black_list_pending"]) == (True, False)
        assert day_after["listed_since"] == "2026-06-23"
        past = await credit(client, uscc, as_of="2026-06-22")
        assert (past["black_list"], past["black_list_pending"]) == (False, True)


async def test_delivery_bad_input(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, _, own = await listed_pending(client, session, regulator)
    notice_id = (await credit(client, uscc))["notice_id"]
    path = f"/v1/notices/{notice_id}/delivery"
    before = await client.post(path, json={"delivered_on": "2026-06-14"}, headers=regulator)
    assert before.status_code == 422 and "delivered_on" in before.text
    future = await client.post(path, json={"delivered_on": "2026-06-16"}, headers=regulator)
    assert future.status_code == 422
    assert (await client.post(path, json={}, headers=own)).status_code == 403
    stray = await client.post(path, json={"delivered": "2026-06-15"}, headers=regulator)
    assert stray.status_code == 422
    unchanged = (await client.get(f"/v1/notices/{notice_id}", headers=regulator)).json()
    assert unchanged["status"] == "served"


async def test_a_regulator_serves_by_hand_only_when_an_s_rule_holds(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    clean = await make_organization(session)
    none = await client.post(f"/v1/organizations/{clean}/notices", json={}, headers=regulator)
    assert none.status_code == 409
    uscc, _, _ = await listed_pending(client, session, regulator)
    pending = await client.post(f"/v1/organizations/{uscc}/notices", json={}, headers=regulator)
    assert pending.status_code == 409  # the registry served the episode's notice already
