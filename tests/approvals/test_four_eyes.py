"""Four eyes (SPEC §9): black-list publication, repair and objection decisions go
through a second official; approvals are bound to the payload, used once, expire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.lists.models import ListPublication
from tests.factories import make_key, make_organization
from tests.records.helpers import violation

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with clock.frozen(TODAY):
        yield


@pytest.fixture
async def officials(session: AsyncSession) -> dict[str, dict[str, str]]:
    return {
        name: await make_key(session, "regulator", official=name)
        for name in ("张科长", "李处长", "王科员")
    }


async def _serious(client: AsyncClient, session: AsyncSession, headers: dict[str, str]) -> str:
    uscc = await make_organization(session)
    body = violation(severity="serious", decided_on="2026-05-01")
    made = await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return uscc


async def _published(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(ListPublication).where(ListPublication.kind == "black")
        )
        or 0
    )


async def _decide(
    client: AsyncClient, approval_id: str, headers: dict[str, str], decision: str = "approved"
) -> Any:
    return await client.post(
        f"/v1/approvals/{approval_id}/decision",
        json={"decision": decision, "reason": "核对无误"},
        headers=headers,
    )


async def test_black_list_publication_needs_a_second_official(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    a, b = officials["张科长"], officials["李处长"]
    await _serious(client, session, a)
    before = await _published(session)
    proposed = await client.post("/v1/lists/black/publications", json={"note": "月度"}, headers=a)
    assert proposed.status_code == 202, proposed.text
    approval = proposed.json()
    assert proposed.headers["Location"] == f"/v1/approvals/{approval['id']}"
    assert set(approval) >= {
        "id",
        "action",
        "target",
        "payload",
        "payload_sha256",
        "proposed_by",
        "status",
        "expires_on",
    }
    assert (approval["action"], approval["target"], approval["status"]) == (
        "black_list.publish",
        {"type": "list", "id": "black"},
        "pending",
    )
    assert approval["proposed_by"] == "张科长" and approval["payload"]["as_of"] == "2026-06-15"
    assert await _published(session) == before
    own = await _decide(client, approval["id"], a)
    assert own.status_code == 403 and own.json()["rule"] == "four_eyes.approver_is_not_proposer"
    approved = await _decide(client, approval["id"], b)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["approval"]["status"] == "approved" and body["approval"]["decided_by"] == "李处长"
    assert body["result"]["sha256"] == approval["payload"]["entries_sha256"]
    assert await _published(session) == before + 1
    replay = await _decide(client, approval["id"], officials["王科员"])
    assert replay.status_code == 409
    pending = (await client.get("/v1/approvals?status=pending", headers=b)).json()["items"]
    assert approval["id"] not in [p["id"] for p in pending]


async def test_an_approval_whose_list_changed_is_409_and_publishes_nothing(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    a, b = officials["张科长"], officials["李处长"]
    proposed = (await client.post("/v1/lists/black/publications", json={}, headers=a)).json()
    before = await _published(session)
    await _serious(client, session, officials["王科员"])  # the list would differ now
    changed = await _decide(client, proposed["id"], b)
    assert changed.status_code == 409 and changed.json()["rule"] == "four_eyes.payload_changed"
    assert await _published(session) == before
    still = (await client.get(f"/v1/approvals/{proposed['id']}", headers=b)).json()
    assert still["status"] == "pending"


async def test_an_approval_expires_after_ten_working_days(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    proposed = (
        await client.post("/v1/lists/black/publications", json={}, headers=officials["张科长"])
    ).json()
    # Ten working days after Monday 06-15, the Dragon Boat Festival (06-19) not counted.
    assert proposed["expires_on"] == "2026-06-30"
    with clock.frozen(dt.date(2026, 7, 1)):
        expired = await _decide(client, proposed["id"], officials["李处长"])
        assert expired.status_code == 409 and expired.json()["rule"] == "four_eyes.expired"


async def test_admins_and_keys_without_an_official_take_no_part(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    admin = await make_key(session, "admin")
    plain = await make_key(session, "regulator")
    for headers in (admin, plain):
        refused = await client.post("/v1/lists/black/publications", json={}, headers=headers)
        assert refused.status_code == 403 and refused.json()["rule"].startswith("four_eyes.")
    proposed = (
        await client.post("/v1/lists/black/publications", json={}, headers=officials["张科长"])
    ).json()
    assert (await _decide(client, proposed["id"], admin)).json()["rule"] == "four_eyes.no_admin"
    # The red list needs no second official.
    assert (
        await client.post("/v1/lists/red/publications", json={}, headers=plain)
    ).status_code == 201


async def test_repair_decision_approver_is_not_the_last_editor(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    a, b, c = officials["张科长"], officials["李处长"], officials["王科员"]
    uscc = await make_organization(session)
    body = violation(severity="general", decided_on="2026-01-10", rectified_on="2026-02-01")
    made = (await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=a)).json()
    repair = await client.post(
        f"/v1/organizations/{uscc}/repairs",
        json={"violation_id": made["id"], "reason": "已整改"},
        headers=c,
    )
    assert repair.status_code == 201, repair.text
    proposed = await client.post(
        f"/v1/repairs/{repair.json()['id']}/decision",
        json={"decision": "approved", "reason": "符合条件"},
        headers=a,
    )
    assert proposed.status_code == 202, proposed.text
    by_requester = await _decide(client, proposed.json()["id"], c)
    assert by_requester.status_code == 403
    assert by_requester.json()["rule"] == "four_eyes.approver_is_not_last_editor"
    approved = await _decide(client, proposed.json()["id"], b)
    assert approved.status_code == 200 and approved.json()["result"]["status"] == "approved"
    assert (await client.get(f"/v1/violations/{made['id']}", headers=b)).json()[
        "status"
    ] == "repaired"


async def test_objection_decision_through_an_approval(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    a, b, c = officials["张科长"], officials["李处长"], officials["王科员"]
    uscc = await make_organization(session)
    made = (
        await client.post(
            f"/v1/organizations/{uscc}/violations",
            json=violation(decided_on="2026-06-01"),
            headers=a,
        )
    ).json()
    own = await make_key(session, "enterprise", uscc)
    filed = (
        await client.post(
            "/v1/objections",
            json={"record_type": "violation", "record_id": made["id"], "grounds": "事实有误"},
            headers=own,
        )
    ).json()
    path = f"/v1/objections/{filed['id']}/decision"
    assert (
        await client.post(path, json={"decision": "upheld", "reason": "撤销"}, headers=a)
    ).status_code == 403
    proposed = await client.post(path, json={"decision": "upheld", "reason": "撤销"}, headers=b)
    assert proposed.status_code == 202
    approved = await _decide(client, proposed.json()["id"], c)
    assert approved.status_code == 200 and approved.json()["result"]["status"] == "upheld"
    assert (await client.get(f"/v1/violations/{made['id']}", headers=c)).json()[
        "status"
    ] == "revoked"


async def test_four_eyes_off_is_audited_at_start(session: AsyncSession) -> None:
    from app.approvals import service as approvals_service
    from app.audit.models import AuditEntry

    try:
        await approvals_service.start(session, False)
        assert approvals_service.enabled() is False
        entry = await session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action == "four_eyes.off")
            .order_by(AuditEntry.at.desc())
        )
        assert entry is not None and entry.after == {"four_eyes": False}
    finally:
        approvals_service.configure(True)  # the module's four_eyes fixture restores it


async def test_retraction_publishes_a_correction_and_keeps_the_original(
    client: AsyncClient, session: AsyncSession, officials: dict[str, dict[str, str]]
) -> None:
    a, b = officials["张科长"], officials["李处长"]
    wrong = await _serious(client, session, a)
    right = await _serious(client, session, a)
    proposed = (await client.post("/v1/lists/black/publications", json={}, headers=a)).json()
    number = (await _decide(client, proposed["id"], b)).json()["result"]["number"]
    path = f"/v1/lists/black/publications/{number}"
    original = await client.get(f"{path}?format=jsonl")
    retraction = f"{path}/retractions"
    unknown = await client.post(retraction, json={"uscc": ["9" * 18], "reason": "x"}, headers=a)
    assert unknown.status_code == 422
    asked = await client.post(
        retraction, json={"uscc": [wrong], "reason": "主体识别错误"}, headers=a
    )
    assert asked.status_code == 202 and asked.json()["action"] == "list.retract"
    # 李处长 published it (by approving): the last editor of the publication.
    by_publisher = await _decide(client, asked.json()["id"], b)
    assert by_publisher.json()["rule"] == "four_eyes.approver_is_not_last_editor"
    done = await _decide(client, asked.json()["id"], officials["王科员"])
    assert done.status_code == 200, done.text
    correction = done.json()["result"]
    assert (correction["number"], correction["corrects"]) == (number + 1, number)
    assert [e["uscc"] for e in correction["retracted"]] == [wrong]
    lines = (await client.get(f"/v1/lists/black/publications/{number + 1}?format=jsonl")).text
    assert wrong not in lines and right in lines
    assert (await client.get(f"{path}?format=jsonl")).content == original.content
    partner = await make_key(session, "partner")
    feed = (await client.get("/v1/changes?limit=200", headers=partner)).json()["items"]
    assert any(e["type"] == "list.exited" and e["uscc"] == wrong for e in feed)
    org_page = (await client.get(f"/organizations/{wrong}")).text
    assert "错误列入已更正" in org_page and "主体识别错误" in org_page
    list_page = (await client.get(f"/lists/black/{number + 1}")).text
    assert f'更正<a href="/lists/black/{number}">第 {number} 期</a>' in list_page
