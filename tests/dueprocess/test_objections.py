"""Objections (SPEC §9): filed by the enterprise on its own record, disputed at
once everywhere, decided within 7 working days by another official, upheld ones
correct or revoke the record with credit recomputed in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.dueprocess.conftest import credit, listed_pending
from tests.factories import make_key, make_organization
from tests.records.helpers import violation


async def _general(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], decided_on: str
) -> tuple[str, dict[str, Any], dict[str, str]]:
    uscc = await make_organization(session)
    body = violation(severity="general", decided_on=decided_on)
    made = await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=regulator)
    assert made.status_code == 201, made.text
    return uscc, made.json(), await make_key(session, "enterprise", uscc)


async def _object(
    client: AsyncClient, headers: dict[str, str], record_type: str, record_id: str
) -> Any:
    body = {"record_type": record_type, "record_id": record_id, "grounds": "处罚决定已被复议撤销"}
    return await client.post("/v1/objections", json=body, headers=headers)


async def test_an_objection_disputes_the_record_everywhere_at_once(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, record, own = await _general(client, session, regulator, "2026-06-01")
    partner = await make_key(session, "partner")
    seq = max(
        [
            0,
            *(
                e["seq"]
                for e in (await client.get("/v1/changes?limit=200", headers=partner)).json()[
                    "items"
                ]
            ),
        ]
    )
    filed = await _object(client, own, "violation", record["id"])
    assert filed.status_code == 201, filed.text
    assert filed.headers["Location"] == f"/v1/objections/{filed.json()['id']}"
    assert filed.json()["status"] == "open"
    assert (await client.get(f"/v1/violations/{record['id']}")).json()["disputed"] is True
    reasons = (await credit(client, uscc))["reasons"]
    assert [r.get("disputed") for r in reasons if r["rule_id"] == "G1"] == [True]
    events = (await client.get(f"/v1/changes?after={seq}", headers=partner)).json()["items"]
    opened = [e for e in events if e["type"] == "objection.opened"]
    assert opened and opened[0]["uscc"] == uscc and opened[0]["data"]["record_id"] == record["id"]
    assert "grounds" not in opened[0]["data"]
    page = (await client.get(f"/organizations/{uscc}")).text
    assert "异议处理中" in page and "处罚决定已被复议撤销" not in page
    reasons_html = page.split('<ul class="reasons">')[1].split("</ul>")[0]
    assert "异议处理中" in reasons_html  # the credit reason it supports, too


async def test_another_organizations_record_is_404_and_a_second_objection_409(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    _, record, own = await _general(client, session, regulator, "2026-06-01")
    stranger = await make_key(session, "enterprise", await make_organization(session))
    assert (await _object(client, stranger, "violation", record["id"])).status_code == 404
    assert (await _object(client, own, "violation", record["id"])).status_code == 201
    assert (await _object(client, regulator, "violation", record["id"])).status_code == 409
    assert (await _object(client, own, "recall", record["id"])).status_code == 404


async def test_deadline_across_the_spring_festival_and_a_late_decision(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    other = await make_key(session, "regulator")
    with clock.frozen(dt.date(2026, 2, 13)):  # Friday before the Spring Festival
        _, record, own = await _general(client, session, regulator, "2026-02-01")
        filed = (await _object(client, own, "violation", record["id"])).json()
    # Working: Sat 02-14 (调休), then 02-24..02-27, Sat 02-28 (调休), Mon 03-02.
    assert filed["due_on"] == "2026-03-02"
    decision = {"decision": "rejected", "reason": "理由不成立"}
    with clock.frozen(dt.date(2026, 3, 3)):
        overdue = (await client.get("/v1/objections?overdue=true&limit=200", headers=other)).json()
        assert filed["id"] in [o["id"] for o in overdue["items"]]
        decided = await client.post(
            f"/v1/objections/{filed['id']}/decision", json=decision, headers=other
        )
        assert decided.status_code == 200, decided.text
        assert (decided.json()["status"], decided.json()["late"]) == ("rejected", True)
    mine = (await client.get(f"/v1/objections/{filed['id']}", headers=own)).json()
    assert mine["decision_reason"] == "理由不成立"
    again = await client.post(
        f"/v1/objections/{filed['id']}/decision", json=decision, headers=other
    )
    assert again.status_code == 409


async def test_on_the_due_day_a_decision_is_not_late(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    other = await make_key(session, "regulator")
    with clock.frozen(dt.date(2026, 2, 13)):
        _, record, own = await _general(client, session, regulator, "2026-02-01")
        filed = (await _object(client, own, "violation", record["id"])).json()
    with clock.frozen(dt.date(2026, 3, 2)):
        decided = await client.post(
            f"/v1/objections/{filed['id']}/decision",
            json={"decision": "rejected", "reason": "理由不成立"},
            headers=other,
        )
        assert decided.json()["late"] is False


async def test_the_recorder_cannot_decide_and_upheld_revokes_with_credit_recomputed(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, record, own = await _general(client, session, regulator, "2026-06-01")
    filed = (await _object(client, own, "violation", record["id"])).json()
    path = f"/v1/objections/{filed['id']}/decision"
    upheld = {"decision": "upheld", "reason": "复议撤销"}
    mine = await client.post(path, json=upheld, headers=regulator)
    assert mine.status_code == 403 and "recorded the record" in mine.json()["detail"]
    assert (await credit(client, uscc))["grade"] == "C"
    decided = await client.post(path, json=upheld, headers=await make_key(session, "regulator"))
    assert decided.status_code == 200, decided.text
    assert (await credit(client, uscc))["grade"] == "B"
    revoked = (await client.get(f"/v1/violations/{record['id']}", headers=regulator)).json()
    assert (revoked["status"], revoked["version"], revoked["disputed"]) == ("revoked", 2, False)


async def test_a_correction_is_validated_and_a_failed_decision_changes_nothing(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    _, record, own = await _general(client, session, regulator, "2026-06-01")
    filed = (await _object(client, own, "violation", record["id"])).json()
    path = f"/v1/objections/{filed['id']}/decision"
    other = await make_key(session, "regulator")
    bad = {"decision": "upheld", "reason": "更正", "correction": {"severity": "grave"}}
    refused = await client.post(path, json=bad, headers=other)
    assert refused.status_code == 422 and "correction.severity" in refused.text
    still = (await client.get(f"/v1/objections/{filed['id']}", headers=other)).json()
    assert still["status"] == "open"
    good = {"decision": "upheld", "reason": "更正", "correction": {"severity": "minor"}}
    assert (await client.post(path, json=good, headers=other)).status_code == 200
    corrected = (await client.get(f"/v1/violations/{record['id']}", headers=other)).json()
    assert (corrected["severity"], corrected["version"]) == ("minor", 2)


async def test_upheld_against_the_notice_withdraws_it(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, _, own = await listed_pending(client, session, regulator)
    notice_id = (await credit(client, uscc))["notice_id"]
    filed = await _object(client, own, "notice", notice_id)
    assert filed.status_code == 201
    shown = (await client.get(f"/v1/notices/{notice_id}", headers=own)).json()
    assert shown["disputed"] is True
    decided = await client.post(
        f"/v1/objections/{filed.json()['id']}/decision",
        json={"decision": "upheld", "reason": "告知程序有误"},
        headers=await make_key(session, "regulator"),
    )
    assert decided.status_code == 200, decided.text
    withdrawn = (await client.get(f"/v1/notices/{notice_id}", headers=own)).json()
    assert withdrawn["status"] == "withdrawn"
    after = await credit(client, uscc)  # still pending; no new notice served by itself
    assert (after["black_list"], after["black_list_pending"], after["notice_id"]) == (
        False,
        True,
        None,
    )
    listed = (await client.get(f"/v1/organizations/{uscc}/notices", headers=own)).json()
    assert len(listed["items"]) == 1
