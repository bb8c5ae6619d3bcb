"""Moving cases along their working-day clocks; overdue lists; figures; C1 facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.complaints import clock, queries, service
from app.core.clock import frozen, today
from app.core.principal import SYSTEM
from app.credit import service as credit_service
from app.organizations.models import Organization
from tests.complaints.helpers import complaint_body


async def _file(client: AsyncClient, uscc: str, **kw: Any) -> dict[str, Any]:
    response = await client.post("/v1/complaints", json=complaint_body(uscc=uscc, **kw))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _move(client: AsyncClient, headers: dict[str, str], id: str, **body: Any) -> Any:
    return await client.post(f"/v1/complaints/{id}/transitions", json=body, headers=headers)


async def test_a_complaint_from_receipt_to_resolution(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    wrong = await _move(client, regulator, case["id"], to="resolved", substantiated=True)
    assert wrong.status_code == 409
    accepted = await _move(client, regulator, case["id"], to="accepted")
    assert accepted.status_code == 200, accepted.text
    calendar = await calendar_service.current(session)
    assert accepted.json()["mediation_due_on"] == calendar.working_deadline(today(), 45).isoformat()
    assert accepted.json()["due_on"] == accepted.json()["mediation_due_on"]
    assert (await _move(client, regulator, case["id"], to="mediating")).status_code == 200
    unmarked = await _move(client, regulator, case["id"], to="resolved")
    assert unmarked.status_code == 422
    assert unmarked.json()["errors"][0]["field"] == "substantiated"
    resolved = await _move(client, regulator, case["id"], to="resolved", substantiated=True)
    assert resolved.status_code == 200
    assert resolved.json()["substantiated_on"] == today().isoformat()
    assert resolved.json()["due_on"] is None and resolved.json()["closed_on"] == today().isoformat()
    again = await _move(client, regulator, case["id"], to="terminated", reason="refused")
    assert again.status_code == 409


async def test_rejection_and_termination_need_the_articles_reasons(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    vague = await _move(client, regulator, case["id"], to="rejected", reason="不想处理")
    assert vague.status_code == 422 and vague.json()["errors"][0]["field"] == "reason"
    rejected = await _move(client, regulator, case["id"], to="rejected", reason="time_barred")
    assert rejected.status_code == 200 and rejected.json()["outcome_reason"] == "time_barred"


async def test_testing_time_does_not_count_in_mediation(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    await _move(client, regulator, case["id"], to="accepted")
    await _move(client, regulator, case["id"], to="mediating")
    calendar = await calendar_service.current(session)
    start = calendar.working_deadline(today(), 3)
    end = calendar.working_deadline(today(), 7)  # 5 working days of testing
    tested = await _move(
        client,
        regulator,
        case["id"],
        to="mediating",
        testing_from=start.isoformat(),
        testing_to=end.isoformat(),
    )
    assert tested.status_code == 200, tested.text
    assert tested.json()["mediation_due_on"] == calendar.working_deadline(today(), 50).isoformat()
    again = await _move(client, regulator, case["id"], to="mediating")
    assert again.status_code == 409


def test_mediation_due_is_independent_of_testing_order() -> None:
    from app.calendar.shipped import shipped

    calendar = shipped()
    accepted = dt.date(2026, 12, 1)
    plain = clock.mediation_due(calendar, accepted, [])
    assert plain == calendar.working_deadline(accepted, 45)
    weekend = [clock.Period(dt.date(2026, 12, 5), dt.date(2026, 12, 6))]  # Sat-Sun
    assert clock.mediation_due(calendar, accepted, weekend) == plain
    one_day = [clock.Period(dt.date(2026, 12, 2), dt.date(2026, 12, 2))]
    assert clock.mediation_due(calendar, accepted, one_day) == calendar.working_deadline(
        accepted, 46
    )


async def test_a_report_is_extended_once_with_a_reason(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc, kind="report", complainant=None)
    calendar = await calendar_service.current(session)
    assert case["due_on"] == calendar.working_deadline(today(), 15).isoformat()
    reasonless = await _move(client, regulator, case["id"], to="extended")
    assert reasonless.status_code == 422
    extended = await _move(client, regulator, case["id"], to="extended", reason="需异地协查")
    assert extended.json()["due_on"] == calendar.working_deadline(today(), 30).isoformat()
    assert (
        await _move(client, regulator, case["id"], to="extended", reason="再延")
    ).status_code == 409
    assert (await _move(client, regulator, case["id"], to="verified")).status_code == 200
    closed = await _move(client, regulator, case["id"], to="closed", substantiated=False)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


async def test_overdue_from_the_day_after_the_due_day(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    due = dt.date.fromisoformat(case["due_on"])
    with frozen(due):
        on_due = await client.get("/v1/complaints", params={"overdue": "true"}, headers=regulator)
        assert on_due.json()["items"] == []
    with frozen(due + dt.timedelta(days=1)):
        late = await client.get("/v1/complaints", params={"overdue": "true"}, headers=regulator)
        assert [c["id"] for c in late.json()["items"]] == [case["id"]]
        assert late.json()["items"][0]["overdue"] is True


async def test_mediation_ends_by_itself_after_45_working_days(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    accepted = await _move(client, regulator, case["id"], to="accepted")
    due = dt.date.fromisoformat(accepted.json()["mediation_due_on"])
    assert await service.end_expired_mediations(session, due) == 0
    assert await service.end_expired_mediations(session, due + dt.timedelta(days=1)) == 1
    ended = await queries.one(session, SYSTEM, case["id"])
    assert ended.status == "terminated" and ended.outcome_reason == "time_limit"
    assert ended.closed_on == due


async def test_stats_rates(client: AsyncClient, regulator: dict[str, str], uscc: str) -> None:
    authority = "测试局" + uscc[-4:]
    ids = []
    for _ in range(4):
        response = await client.post(
            "/v1/complaints",
            json=complaint_body(uscc=uscc, authority=authority),
            headers=regulator,
        )
        ids.append(response.json()["id"])
    empty = await client.get("/v1/complaints/stats", params={"authority": authority + "x"})
    assert empty.json()["handled_rate"] is None and empty.json()["closed_rate"] is None
    await _move(client, regulator, ids[0], to="accepted")
    await _move(client, regulator, ids[1], to="accepted")
    await _move(client, regulator, ids[2], to="rejected", reason="not_consumer")
    await _move(client, regulator, ids[0], to="terminated", reason="no_agreement")
    stats = (await client.get("/v1/complaints/stats", params={"authority": authority})).json()
    assert stats["received"] == 4 and stats["decided_in_time"] == 3 and stats["accepted"] == 2
    assert stats["handled_rate"] == 0.75 and stats["closed_rate"] == 0.5
    page = await client.get("/complaints/stats")
    assert page.status_code == 200 and "投诉举报统计" in page.text
    assert "13800138000" not in page.text


async def test_substantiated_complaints_reach_credit_rule_c1(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    case = await _file(client, uscc)
    await _move(client, regulator, case["id"], to="accepted")
    await _move(client, regulator, case["id"], to="mediating")
    before = dt.datetime.now(dt.UTC)
    await _move(client, regulator, case["id"], to="resolved", substantiated=True)
    org_id = await session.scalar(select(Organization.id).where(Organization.uscc == uscc))
    assert org_id is not None
    # Registered at start-up as credit's facts: the engine's history carries it,
    # as known now, not as known before it was substantiated.
    hist = (await credit_service.histories_of(session, {org_id: "active"}))[org_id]
    assert [(f.substantiated_on, f.category) for f in hist.complaints] == [(today(), "质量问题")]
    assert [str(f.id) for f in hist.complaints] == [case["id"]]
    then = await credit_service.histories_known_at(session, {org_id: uscc}, before)
    assert then[org_id].complaints == ()
