"""Objections on complaints (SPEC §9 `record_type` `complaint`): the enterprise
objects to a substantiated complaint against it, which is disputed at once (its
view and credit rule C1's reason); one open objection per complaint; another
organization's complaint is 404; upheld, the substantiation is withdrawn as the
case's next version and C1 no longer counts it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.policy import versions
from tests.complaints.helpers import complaint_body
from tests.factories import make_key, make_organization

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def under_v2() -> Iterator[None]:
    """C1 (substantiated complaints) is a rule of policy v2."""
    with versions.v2_from(dt.date(2026, 1, 1)), clock.frozen(TODAY):
        yield


async def _substantiated(
    client: AsyncClient, regulator: dict[str, str], uscc: str, category: str
) -> dict[str, Any]:
    filed = await client.post("/v1/complaints", json=complaint_body(uscc=uscc, category=category))
    assert filed.status_code == 201, filed.text
    path = f"/v1/complaints/{filed.json()['id']}/transitions"
    for move in (
        {"to": "accepted"},
        {"to": "mediating"},
        {"to": "resolved", "substantiated": True},
    ):
        moved = await client.post(path, json=move, headers=regulator)
        assert moved.status_code == 200, moved.text
    return dict(moved.json())


async def _object(client: AsyncClient, headers: dict[str, str], complaint_id: str) -> Any:
    body = {"record_type": "complaint", "record_id": complaint_id, "grounds": "产品经检验合格"}
    return await client.post("/v1/objections", json=body, headers=headers)


async def _c1(client: AsyncClient, uscc: str) -> dict[str, bool]:
    credit = await client.get(f"/v1/organizations/{uscc}/credit")
    assert credit.status_code == 200, credit.text
    return {
        r["record_id"]: r.get("disputed", False)
        for r in credit.json()["reasons"]
        if r["rule_id"] == "C1"
    }


async def test_an_enterprise_objects_to_a_substantiated_complaint(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    uscc: str,
    enterprise: dict[str, str],
) -> None:
    cases = [
        await _substantiated(client, regulator, uscc, category)
        for category in ("质量问题", "标签标识", "售后服务")
    ]
    target, other = cases[0]["id"], cases[1]["id"]
    assert await _c1(client, uscc) == {c["id"]: False for c in cases}

    stranger = await make_key(session, "enterprise", await make_organization(session))
    refused = await _object(client, stranger, target)
    assert refused.status_code == 404 and "产品经检验合格" not in refused.text
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await _object(client, enterprise, unknown)).status_code == 404

    filed = await _object(client, enterprise, target)
    assert filed.status_code == 201, filed.text
    assert (filed.json()["record_type"], filed.json()["status"]) == ("complaint", "open")
    own = await client.get(f"/v1/complaints/{target}", headers=enterprise)
    assert own.json()["disputed"] is True and "complainant" not in own.json()
    assert (await client.get(f"/v1/complaints/{other}", headers=regulator)).json()[
        "disputed"
    ] is False
    listed = (await client.get(f"/v1/complaints?uscc={uscc}", headers=regulator)).json()["items"]
    assert {c["id"]: c["disputed"] for c in listed}[target] is True
    assert (await _c1(client, uscc))[target] is True  # still counts, disputed (§4.1)

    again = await _object(client, regulator, target)  # a regulator on its behalf
    assert again.status_code == 409
    assert (await _object(client, stranger, other)).status_code == 404

    # The official who marked it substantiated does not decide; another one does.
    path = f"/v1/objections/{filed.json()['id']}/decision"
    upheld = {"decision": "upheld", "reason": "复检合格，投诉不实"}
    assert (await client.post(path, json=upheld, headers=regulator)).status_code == 403
    wrong = upheld | {"correction": {"category": "其他"}}
    decider = await make_key(session, "regulator")
    refused = await client.post(path, json=wrong, headers=decider)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "correction"
    decided = await client.post(path, json=upheld, headers=decider)
    assert decided.status_code == 200, decided.text
    after = (await client.get(f"/v1/complaints/{target}", headers=enterprise)).json()
    assert (after["substantiated"], after["substantiated_on"], after["disputed"]) == (
        False,
        None,
        False,
    )
    assert after["version"] == cases[0]["version"] + 1
    assert await _c1(client, uscc) == {}  # two left: below C1's three
