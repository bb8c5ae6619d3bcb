"""The measures catalogue: anyone reads, regulators write, every change audited."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry


def measure(**overrides: Any) -> dict[str, Any]:
    return {
        "matter": "政府采购",
        "target_list": "black",
        "measure": "依法限制参与政府采购活动",
        "department": "财政部门",
        "legal_basis": "《政府采购法》第二十二条",
    } | overrides


async def test_regulator_creates_anyone_reads(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    created = await client.post("/v1/measures", json=measure(), headers=regulator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/measures/{body['id']}"
    assert {"id", "matter", "target_list", "measure", "department", "legal_basis"} <= set(body)
    listed = await client.get("/v1/measures")
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [body["id"]]
    one = await client.get(f"/v1/measures/{body['id']}")
    assert one.json()["measure"] == "依法限制参与政府采购活动"
    red = await client.get("/v1/measures?target_list=red")
    assert red.json()["items"] == []


async def test_put_changes_and_audits_with_the_previous_text(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    body = (await client.post("/v1/measures", json=measure(), headers=regulator)).json()
    changed = await client.put(
        f"/v1/measures/{body['id']}", json=measure(department="发展改革部门"), headers=regulator
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["department"] == "发展改革部门"
    assert changed.json()["version"] == 2
    entries = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.entity_id == body["id"]).order_by(AuditEntry.id)
        )
    ).all()
    assert [e.action for e in entries] == ["measure.create", "measure.update"]
    assert entries[1].before is not None and entries[1].before["department"] == "财政部门"


async def test_roles_and_bad_input(
    client: AsyncClient, partner: dict[str, str], regulator: dict[str, str]
) -> None:
    assert (await client.post("/v1/measures", json=measure())).status_code == 401
    assert (await client.post("/v1/measures", json=measure(), headers=partner)).status_code == 403
    wrong = await client.post("/v1/measures", json=measure(target_list="grey"), headers=regulator)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "target_list"
    long = await client.post("/v1/measures", json=measure(matter="x" * 201), headers=regulator)
    assert long.status_code == 422
    missing = await client.put(
        "/v1/measures/00000000-0000-0000-0000-000000000000", json=measure(), headers=regulator
    )
    assert missing.status_code == 404
    assert (await client.get("/v1/measures")).json()["items"] == []


async def test_openapi_describes_the_webhooks(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == {
        "list.entered",
        "list.exited",
        "credit.changed",
        "recall.opened",
        "objection.opened",
        "repair.completed",
    }
    exited = document["webhooks"]["list.exited"]["post"]
    assert "application/cloudevents+json" in exited["requestBody"]["content"]
    headers = {p["name"] for p in exited["parameters"]}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
