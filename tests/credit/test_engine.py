"""The credit engine against the database: materialised status, time passing with
no write, time travel on both axes, credit repair, batch queries, the change feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core import clock
from app.credit import service as credit_service
from app.credit.models import CreditStatus
from tests.factories import make_key, make_organization, random_uscc
from tests.records.helpers import grade, violation

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with clock.frozen(TODAY):
        yield


async def _post(
    client: AsyncClient, headers: dict[str, str], uscc: str, kind: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/v1/organizations/{uscc}/{kind}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _credit(client: AsyncClient, uscc: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"/v1/organizations/{uscc}/credit", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_new_organization_is_b_and_not_listed(
    client: AsyncClient, session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    credit = await _credit(client, uscc)
    assert (credit["grade"], credit["assessed_grade"], credit["a_level"]) == ("B", "B", False)
    assert (credit["red_list"], credit["black_list"]) == (False, False)
    assert credit["policy_version"] == "v1"
    assert credit["as_of"] == TODAY.isoformat()
    assert credit["reasons"][0]["rule_id"] == "BASE"
    assert set(credit["reasons"][0]) == {
        "rule_id",
        "effect",
        "record_type",
        "record_id",
        "explanation_zh",
        "explanation_en",
    }


async def test_assessment_makes_a_level_and_red_list(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    await _post(
        client,
        regulator,
        uscc,
        "grades",
        grade(grade="AAA", assessed_on="2026-01-10", valid_until="2027-01-09"),
    )
    credit = await _credit(client, uscc)
    assert (credit["grade"], credit["a_level"], credit["red_list"]) == ("AAA", True, True)
    # Deregistered: still A-level, no longer on the red list.
    await client.put(
        f"/v1/organizations/{uscc}",
        json={"name": "注销企业", "status": "deregistered"},
        headers=regulator,
    )
    credit = await _credit(client, uscc)
    assert (credit["a_level"], credit["red_list"]) == (True, False)


async def test_assessment_validity_edge(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    await _post(
        client,
        regulator,
        uscc,
        "grades",
        grade(grade="AA", assessed_on="2025-06-01", valid_until="2026-06-15"),
    )
    assert (await _credit(client, uscc))["grade"] == "AA"  # valid_until = T: still valid
    status = await session.get(CreditStatus, (await _org_id(session, uscc)))
    assert status is not None and status.holds_until == TODAY
    with clock.frozen(TODAY + dt.timedelta(days=1)):
        assert (await _credit(client, uscc))["grade"] == "B"  # the day after, no write


async def _org_id(session: AsyncSession, uscc: str) -> Any:
    from app.organizations.models import Organization

    return await session.scalar(select(Organization.id).where(Organization.uscc == uscc))


async def test_black_list_window_closes_with_no_write(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], partner: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    # Decided 2023-06-16: inside 36 months on 2026-06-15 (T − 36 months = 2023-06-15 < d).
    await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="serious", decided_on="2023-06-16"),
    )
    credit = await _credit(client, uscc)
    assert (credit["grade"], credit["black_list"]) == ("D", True)
    assert credit["holds_until"] == "2026-06-15"
    assert credit["expected_exit"] == "2026-06-16"
    assert credit["listed_since"] == "2023-06-16"
    feed_before = await _feed(client, partner)
    with clock.frozen(dt.date(2026, 6, 16)):
        credit = await _credit(client, uscc)
        assert (credit["grade"], credit["black_list"]) == ("B", False)
    changed = [
        e
        for e in (await _feed(client, partner))[len(feed_before) :]
        if e["type"] == "credit.changed"
    ]
    assert [(e["uscc"], e["data"]["black_list"]) for e in changed] == [(uscc, False)]


async def _feed(client: AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (
            await client.get("/v1/changes", params={"after": after, "limit": 200}, headers=headers)
        ).json()
        items += page["items"]
        if not page["items"]:
            return items
        after = page["items"][-1]["seq"]


async def test_time_travel_as_of(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    v = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="general", decided_on="2026-03-10"),
    )
    etag = (await client.get(f"/v1/violations/{v['id']}")).headers["etag"]
    await client.patch(
        f"/v1/violations/{v['id']}",
        json={"rectified_on": "2026-05-01"},
        headers=regulator | {"If-Match": etag},
    )
    assert (await _credit(client, uscc, as_of="2026-03-09"))["grade"] == "B"  # before the decision
    on_decision = await _credit(client, uscc, as_of="2026-03-10")
    assert on_decision["grade"] == "C"
    assert [r["rule_id"] for r in on_decision["reasons"]] == ["BASE", "G1"]
    assert (await _credit(client, uscc, as_of="2026-04-30"))[
        "grade"
    ] == "C"  # rectification not yet
    rectified = await _credit(client, uscc, as_of="2026-05-01")
    assert [r["rule_id"] for r in rectified["reasons"]] == ["BASE", "M1"]
    assert rectified["grade"] == "B"
    future = await client.get(f"/v1/organizations/{uscc}/credit", params={"as_of": "2026-06-16"})
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "as_of"


async def test_time_travel_known_at(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    before_anything = dt.datetime.now(dt.UTC).isoformat()
    v = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="serious", decided_on="2026-01-05"),
    )
    told = dt.datetime.now(dt.UTC).isoformat()
    etag = (await client.get(f"/v1/violations/{v['id']}")).headers["etag"]
    await client.patch(
        f"/v1/violations/{v['id']}",
        json={"revoked_on": "2026-02-01", "revoked_reason": "复议撤销"},
        headers=regulator | {"If-Match": etag},
    )
    # Everything known now: revoked from 2026-02-01, so not black on 2026-03-01 ...
    assert (await _credit(client, uscc, as_of="2026-03-01"))["black_list"] is False
    # ... but what a partner was told before the revocation was recorded: black.
    then = await _credit(client, uscc, as_of="2026-03-01", known_at=told)
    assert then["black_list"] is True
    assert then["known_at"] is not None
    # Before the organization was recorded the registry knew nothing of it.
    missing = await client.get(
        f"/v1/organizations/{uscc}/credit", params={"known_at": "2000-01-01T00:00:00+00:00"}
    )
    assert missing.status_code == 404
    assert before_anything < told


async def test_repair_rules_and_effect(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    enterprise = await make_key(session, "enterprise", uscc)
    other = await make_key(session, "enterprise", await make_organization(session))
    # Serious, decided 2025-06-16: eligible from 2026-06-16, one day after "today".
    v = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="serious", decided_on="2025-06-16"),
    )
    url = f"/v1/organizations/{uscc}/repairs"
    body = {"violation_id": v["id"], "reason": "已整改到位，申请信用修复"}
    not_rectified = await client.post(url, json=body, headers=enterprise)
    assert not_rectified.status_code == 422
    assert not_rectified.json()["reason"] == "not_rectified"
    etag = (await client.get(f"/v1/violations/{v['id']}")).headers["etag"]
    await client.patch(
        f"/v1/violations/{v['id']}",
        json={"rectified_on": "2025-08-01"},
        headers=regulator | {"If-Match": etag},
    )
    too_early = await client.post(url, json=body, headers=enterprise)
    assert too_early.status_code == 422
    assert too_early.json()["reason"] == "too_early"
    assert "2026-06-16" in too_early.json()["detail"]
    assert (await client.post(url, json=body, headers=other)).status_code == 403
    with clock.frozen(dt.date(2026, 6, 16)):
        assert (await _credit(client, uscc))["black_list"] is True
        requested = await client.post(url, json=body, headers=enterprise)
        assert requested.status_code == 201, requested.text
        repair = requested.json()
        assert repair["status"] == "pending"
        assert (await client.post(url, json=body, headers=enterprise)).status_code == 409
        decision = f"/v1/repairs/{repair['id']}/decision"
        assert (
            await client.post(
                decision, json={"decision": "approved", "reason": "x"}, headers=enterprise
            )
        ).status_code == 403
        approved = await client.post(
            decision, json={"decision": "approved", "reason": "整改到位"}, headers=regulator
        )
        assert approved.status_code == 200
        assert approved.json()["decided_on"] == "2026-06-16"
        assert (
            await client.post(
                decision, json={"decision": "rejected", "reason": "x"}, headers=regulator
            )
        ).status_code == 409
        credit = await _credit(client, uscc)
        assert (credit["black_list"], credit["grade"]) == (False, "B")
        assert [r["rule_id"] for r in credit["reasons"]] == ["BASE", "M1"]
        history = (await client.get(f"/v1/violations/{v['id']}/history", headers=regulator)).json()
        assert history[-1]["change"] == "repaired"
        assert history[-1]["data"]["repaired_on"] == "2026-06-16"
        # Time travel before the approval still shows the black list.
        assert (await _credit(client, uscc, as_of="2026-06-15"))["black_list"] is True


async def test_general_repair_waits_three_months(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    on_edge = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="general", decided_on="2026-03-15", rectified_on="2026-04-01"),
    )
    day_short = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="general", decided_on="2026-03-16", rectified_on="2026-04-01"),
    )
    url = f"/v1/organizations/{uscc}/repairs"
    ok = await client.post(
        url, json={"violation_id": on_edge["id"], "reason": "r"}, headers=regulator
    )
    assert ok.status_code == 201
    early = await client.post(
        url, json={"violation_id": day_short["id"], "reason": "r"}, headers=regulator
    )
    assert early.status_code == 422
    assert early.json()["reason"] == "too_early"


async def test_rejected_repair_changes_nothing(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    v = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="general", decided_on="2026-01-15", rectified_on="2026-02-01"),
    )
    repair = (
        await client.post(
            f"/v1/organizations/{uscc}/repairs",
            json={"violation_id": v["id"], "reason": "r"},
            headers=regulator,
        )
    ).json()
    rejected = await client.post(
        f"/v1/repairs/{repair['id']}/decision",
        json={"decision": "rejected", "reason": "材料不全"},
        headers=regulator,
    )
    assert rejected.json()["status"] == "rejected"
    assert (await client.get(f"/v1/violations/{v['id']}")).json()["repaired_on"] is None


async def test_batch_in_order_with_errors(
    client: AsyncClient, session: AsyncSession, partner: dict[str, str], regulator: dict[str, str]
) -> None:
    a = await make_organization(session)
    b = await make_organization(session)
    await _post(
        client, regulator, b, "violations", violation(severity="serious", decided_on="2026-01-01")
    )
    unknown = random_uscc()
    codes = [b, "91110000600037341X", a, unknown, f"{a[8:16]}-{a[16]}"]
    response = await client.post("/v1/credit/batch", json={"codes": codes}, headers=partner)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["code"] for r in results] == codes
    assert results[0]["black_list"] is True and results[0]["uscc"] == b
    assert results[1]["error"]["status"] == 422 and "expected 'L'" in results[1]["error"]["detail"]
    assert results[2]["grade"] == "B"
    assert results[3]["error"]["status"] == 404
    assert results[4]["uscc"] == a
    past = (
        await client.post(
            "/v1/credit/batch", json={"codes": [b], "as_of": "2025-12-31"}, headers=partner
        )
    ).json()
    assert past["results"][0]["black_list"] is False


async def test_batch_bounds_and_roles(
    client: AsyncClient, session: AsyncSession, partner: dict[str, str]
) -> None:
    too_many = await client.post("/v1/credit/batch", json={"codes": ["x"] * 1001}, headers=partner)
    assert too_many.status_code == 422
    assert "1000" in too_many.json()["errors"][0]["message"]
    assert (
        await client.post("/v1/credit/batch", json={"codes": []}, headers=partner)
    ).status_code == 422
    assert (await client.post("/v1/credit/batch", json={"codes": ["x"]})).status_code == 401
    enterprise = await make_key(session, "enterprise", await make_organization(session))
    assert (
        await client.post("/v1/credit/batch", json={"codes": ["x"]}, headers=enterprise)
    ).status_code == 403


async def test_batch_round_trips_do_not_grow_with_the_batch(
    client: AsyncClient, session: AsyncSession, partner: dict[str, str], connection: AsyncConnection
) -> None:
    usccs = [await make_organization(session) for _ in range(30)]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        for size in (2, 30):
            statements.clear()
            r = await client.post("/v1/credit/batch", json={"codes": usccs[:size]}, headers=partner)
            assert r.status_code == 200
            counted = len(statements)
            if size == 2:
                small = counted
        assert counted == small, (small, counted)
        statements.clear()
        await client.post(
            "/v1/credit/batch", json={"codes": usccs, "as_of": "2026-01-01"}, headers=partner
        )
        as_of_small = len(statements)
        statements.clear()
        await client.post(
            "/v1/credit/batch", json={"codes": usccs[:3], "as_of": "2026-01-01"}, headers=partner
        )
        assert len(statements) == as_of_small
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)
    assert small <= 6


async def test_public_reasons_hide_violations_past_publication(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    # Minor: public for 3 months, caps at B for 12 months.
    v = await _post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="minor", decided_on="2026-01-10", case_no="内部编号-77"),
    )
    public = await _credit(client, uscc)
    m2 = next(r for r in public["reasons"] if r["rule_id"] == "M2")
    assert m2["record_id"] is None
    assert "内部编号-77" not in str(public)
    regulator_view = (
        await client.get(f"/v1/organizations/{uscc}/credit", headers=regulator)
    ).json()
    m2 = next(r for r in regulator_view["reasons"] if r["rule_id"] == "M2")
    assert m2["record_id"] == v["id"]


async def test_feed_follower_ends_with_the_registry_statuses(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], partner: dict[str, str]
) -> None:
    orgs = [await make_organization(session) for _ in range(3)]
    await _post(
        client,
        regulator,
        orgs[0],
        "violations",
        violation(severity="serious", decided_on="2023-06-20"),
    )
    await _post(
        client,
        regulator,
        orgs[1],
        "grades",
        grade(grade="AAA", assessed_on="2026-01-01", valid_until="2026-06-20"),
    )
    await _post(
        client,
        regulator,
        orgs[2],
        "violations",
        violation(severity="minor", decided_on="2026-06-01"),
    )
    with clock.frozen(dt.date(2026, 6, 25)):  # windows close with no write
        await credit_service.refresh_due(session)
        await session.commit()
        copy: dict[str, dict[str, Any]] = {}
        for e in await _feed(client, partner):
            if e["type"] == "credit.changed":
                copy[e["uscc"]] = {
                    k: e["data"][k] for k in ("grade", "a_level", "red_list", "black_list")
                }
        for uscc in orgs:
            status = await session.scalar(select(CreditStatus).where(CreditStatus.uscc == uscc))
            assert status is not None
            assert copy[uscc] == {
                k: getattr(status, k) for k in ("grade", "a_level", "red_list", "black_list")
            }
        assert copy[orgs[0]]["black_list"] is False
        assert copy[orgs[1]]["grade"] == "B"


async def test_changes_feed_is_for_partners_and_bounded(
    client: AsyncClient, session: AsyncSession, partner: dict[str, str]
) -> None:
    assert (await client.get("/v1/changes")).status_code == 401
    enterprise = await make_key(session, "enterprise", await make_organization(session))
    assert (await client.get("/v1/changes", headers=enterprise)).status_code == 403
    assert (
        await client.get("/v1/changes", params={"limit": 201}, headers=partner)
    ).status_code == 422
    assert (
        await client.get("/v1/changes", params={"after": -1}, headers=partner)
    ).status_code == 422
    feed = await client.get("/v1/changes", params={"limit": 1}, headers=partner)
    page = feed.json()
    assert page["next_cursor"] == str(page["items"][0]["seq"])
    assert "legal_representative" not in feed.text


def test_daily_refresh_runs_after_the_next_local_midnight() -> None:
    from app.core.settings import Settings
    from app.credit.refresher import seconds_until_next_run

    settings = Settings(QCR_TIMEZONE="Asia/Shanghai")
    # 23:00 in Shanghai: the run is at 00:05, 65 minutes later.
    at = dt.datetime(2026, 6, 15, 15, 0, tzinfo=dt.UTC)
    assert seconds_until_next_run(settings, at) == 65 * 60


async def test_refresh_once_recomputes_due_statuses(
    engine: Any, owner_engine: Any, committed_client: AsyncClient
) -> None:
    from sqlalchemy import text

    from app.core.database import Database
    from app.credit.refresher import refresh_once
    from tests.factories import committed_organization

    uscc = await committed_organization(engine)
    async with owner_engine.begin() as conn:  # pretend its edge passed long ago
        await conn.execute(
            text("UPDATE credit_status SET holds_until = '2000-01-01' WHERE uscc = :u"), {"u": uscc}
        )
    assert await refresh_once(Database(engine)) == 1
    async with AsyncSession(engine) as fresh:
        status = await fresh.scalar(select(CreditStatus).where(CreditStatus.uscc == uscc))
        assert status is not None and status.holds_until is None
    assert await refresh_once(Database(engine)) == 0
