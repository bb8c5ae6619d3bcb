"""Versions, not overwrites: ETag, If-Match (428, 412), history."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_key, make_organization
from tests.records.helpers import days_ago, inspection, recall, violation


@pytest.fixture
async def uscc(session: AsyncSession) -> str:
    return await make_organization(session)


async def _create(
    client: AsyncClient, headers: dict[str, str], uscc: str, plural: str, body: dict[str, Any]
) -> str:
    response = await client.post(f"/v1/organizations/{uscc}/{plural}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_patch_without_if_match_is_428(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    vid = await _create(client, regulator, uscc, "violations", violation())
    response = await client.patch(
        f"/v1/violations/{vid}", json={"rectified_on": days_ago(1)}, headers=regulator
    )
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


async def test_rectify_revoke_and_stale_etag(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    vid = await _create(client, regulator, uscc, "violations", violation(decided_on=days_ago(30)))
    first = await client.get(f"/v1/violations/{vid}")
    etag1 = first.headers["etag"]
    rectified = await client.patch(
        f"/v1/violations/{vid}",
        json={"rectified_on": days_ago(10)},
        headers=regulator | {"If-Match": etag1},
    )
    assert rectified.status_code == 200
    assert rectified.json()["status"] == "rectified"
    assert rectified.json()["version"] == 2
    etag2 = rectified.headers["etag"]
    assert etag2 != etag1

    stale = await client.patch(
        f"/v1/violations/{vid}",
        json={"revoked_on": days_ago(1), "revoked_reason": "复议撤销"},
        headers=regulator | {"If-Match": etag1},
    )
    assert stale.status_code == 412
    revoked = await client.patch(
        f"/v1/violations/{vid}",
        json={"revoked_on": days_ago(1), "revoked_reason": "行政复议撤销"},
        headers=regulator | {"If-Match": etag2},
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"

    history = await client.get(f"/v1/violations/{vid}/history", headers=regulator)
    versions = history.json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["change"] for v in versions] == ["created", "rectified", "revoked"]
    assert versions[0]["data"]["rectified_on"] is None
    assert versions[1]["data"]["rectified_on"] == days_ago(10)
    assert all(v["recorded_by"] and v["recorded_role"] == "regulator" for v in versions)
    assert versions[0]["recorded_at"] <= versions[2]["recorded_at"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"rectified_on": "2000-01-01"}, "rectified_on"),  # before decided_on
        ({"revoked_on": "2000-01-01", "revoked_reason": "x"}, "revoked_on"),
        ({"revoked_on": "2026-01-01"}, "revoked_on and revoked_reason go together"),
        ({"repaired_on": "2026-01-01"}, "repaired_on"),
        ({"version": 9}, "version"),
        ({}, "the patch is empty"),
        ({"severity": "fatal"}, "severity"),
        ({"severity": None}, "severity cannot be cleared"),
    ],
)
async def test_invalid_patches_are_422_and_keep_the_version(
    client: AsyncClient,
    regulator: dict[str, str],
    uscc: str,
    body: dict[str, Any],
    named: str,
) -> None:
    vid = await _create(client, regulator, uscc, "violations", violation())
    etag = (await client.get(f"/v1/violations/{vid}")).headers["etag"]
    response = await client.patch(
        f"/v1/violations/{vid}", json=body, headers=regulator | {"If-Match": etag}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert named in problem["detail"] or any(e["field"] == named for e in problem["errors"])
    assert (await client.get(f"/v1/violations/{vid}")).headers["etag"] == etag


async def test_correction_creates_a_version(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    vid = await _create(client, regulator, uscc, "violations", violation(severity="serious"))
    etag = (await client.get(f"/v1/violations/{vid}")).headers["etag"]
    corrected = await client.patch(
        f"/v1/violations/{vid}",
        json={"severity": "general", "penalty_amount": "500"},
        headers=regulator | {"If-Match": etag},
    )
    assert corrected.json()["severity"] == "general"
    assert corrected.json()["penalty_amount"] == "500.00"
    history = (await client.get(f"/v1/violations/{vid}/history", headers=regulator)).json()
    assert [v["data"]["severity"] for v in history] == ["serious", "general"]
    assert history[1]["change"] == "corrected"


async def test_inspection_rectification_is_versioned(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    iid = await _create(
        client, regulator, uscc, "inspections", inspection(inspected_on=days_ago(20))
    )
    etag = (await client.get(f"/v1/inspections/{iid}")).headers["etag"]
    ok = await client.patch(
        f"/v1/inspections/{iid}",
        json={"rectified_on": days_ago(2)},
        headers=regulator | {"If-Match": etag},
    )
    assert ok.status_code == 200
    assert ok.json()["rectified_on"] == days_ago(2)
    passed = await _create(
        client, regulator, uscc, "inspections", inspection(result="pass", failed_items=[])
    )
    etag = (await client.get(f"/v1/inspections/{passed}")).headers["etag"]
    refused = await client.patch(
        f"/v1/inspections/{passed}",
        json={"rectified_on": days_ago(1)},
        headers=regulator | {"If-Match": etag},
    )
    assert refused.status_code == 422
    assert "only a failed inspection" in refused.json()["detail"]


async def test_recall_status_changes(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    rid = await _create(client, regulator, uscc, "recalls", recall())
    etag = (await client.get(f"/v1/recalls/{rid}")).headers["etag"]
    done = await client.patch(
        f"/v1/recalls/{rid}", json={"status": "completed"}, headers=regulator | {"If-Match": etag}
    )
    assert done.json()["status"] == "completed"
    history = (await client.get(f"/v1/recalls/{rid}/history", headers=regulator)).json()
    assert [v["data"]["status"] for v in history] == ["ongoing", "completed"]
    assert (
        await client.patch(
            f"/v1/recalls/{rid}",
            json={"status": "paused"},
            headers=regulator | {"If-Match": done.headers["etag"]},
        )
    ).status_code == 422


async def test_patch_and_history_are_for_regulators(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    vid = await _create(client, regulator, uscc, "violations", violation())
    etag = (await client.get(f"/v1/violations/{vid}")).headers["etag"]
    for role in ("partner", "enterprise"):
        headers = await make_key(session, role, uscc if role == "enterprise" else None)
        assert (
            await client.patch(
                f"/v1/violations/{vid}",
                json={"rectified_on": days_ago(1)},
                headers=headers | {"If-Match": etag},
            )
        ).status_code == 403
        assert (
            await client.get(f"/v1/violations/{vid}/history", headers=headers)
        ).status_code == 403


async def test_unknown_record_is_404_and_bad_id_is_422(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    assert (
        await client.get("/v1/violations/00000000-0000-0000-0000-000000000001")
    ).status_code == 404
    bad = await client.get("/v1/violations/not-a-uuid")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "id"
