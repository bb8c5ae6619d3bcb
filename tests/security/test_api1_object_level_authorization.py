"""API1:2023 Broken Object Level Authorization.

An enterprise key is bound to one organization (A here): every object of
another organization (B) — repair requests, products, batches, item codes, QR
images, feedback, private fields — is out of its reach by id or by code, on
every operation it may call at all (walked from the OpenAPI document, so
operations added later are covered). Partners read credit and public views,
never private fields.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.security.bodies import VALID_BODIES
from tests.security.dataset import PRIVATE_FIELDS, Dataset, fill_path
from tests.security.helpers import DocumentedOperation, operations


# These tests read, or write and are refused: they share one committed world per
# module instead of seeding one per test.
@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


# Notices exist only under policy v2 (from its effective date, 2027-01-01 by
# default), which the shared world does not reach; their isolation is tested in
# tests/dueprocess/test_notices.py under v2.
ENTERPRISE_OPERATIONS = [
    op
    for op in operations()
    if op.roles is not None
    and "enterprise" in op.roles
    and "{" in op.path
    and not op.path.startswith("/v1/notices/")
]


def _as_b(world: Dataset) -> Dataset:
    """The dataset seen from B: paths filled with B's objects."""
    return Dataset(world.b, world.a, world.headers, world.enterprise_b, world.publications)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in ENTERPRISE_OPERATIONS])
async def test_an_enterprise_key_cannot_reach_another_organizations_object(
    client: AsyncClient, world: Dataset, op: DocumentedOperation
) -> None:
    assert world.b.product is not None, "the seed made no product: it must fail, not skip"
    body = VALID_BODIES[op.key](_as_b(world)) if op.key in VALID_BODIES else {}
    if "uscc" in body:
        body["uscc"] = world.b.uscc
    if op.key == "POST /v1/organizations/{code}/repairs":
        body["violation_id"] = world.b.violation_id
    own = world.headers["enterprise"]  # bound to A
    response = await client.request(
        op.method,
        fill_path(op.path, _as_b(world)),
        json=body if op.is_write else None,
        headers=own | {"Accept": "application/json"},
    )
    assert response.status_code in (403, 404), f"{op.key}: {response.status_code} {response.text}"


@pytest.mark.parametrize(
    "op",
    [pytest.param(op, id=op.key) for op in ENTERPRISE_OPERATIONS if op.method == "GET"],
)
async def test_the_same_operation_reaches_the_keys_own_object(
    client: AsyncClient, world: Dataset, op: DocumentedOperation
) -> None:
    """The other half: the boundary is not a route that refuses everyone."""
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    response = await client.get(fill_path(op.path, world), headers=world.headers["enterprise"])
    assert response.status_code == 200, f"{op.key}: {response.status_code} {response.text}"


async def test_lists_of_an_enterprise_key_hold_its_own_organization_only(
    client: AsyncClient, world: Dataset
) -> None:
    own = world.headers["enterprise"]
    for path in ("/v1/products", "/v1/feedback"):
        listed = await client.get(path, headers=own)
        if listed.status_code == 404:
            continue  # that domain is not there yet
        assert listed.status_code == 200, listed.text
        assert {item["uscc"] for item in listed.json()["items"]} <= {world.a.uscc}
        filtered = await client.get(path, params={"uscc": world.b.uscc}, headers=own)
        assert filtered.status_code in (403, 404), filtered.text


async def test_an_enterprise_key_cannot_create_for_another_organization(
    client: AsyncClient, world: Dataset
) -> None:
    own = world.headers["enterprise"]
    product = VALID_BODIES["POST /v1/products"](world) | {"uscc": world.b.uscc}
    created = await client.post("/v1/products", json=product, headers=own)
    assert created.status_code in (403, 404, 405), created.text
    repair = await client.post(
        f"/v1/organizations/{world.a.uscc}/repairs",
        json={"violation_id": world.b.violation_id, "reason": "借别人的违法行为申请修复"},
        headers=own,
    )
    assert repair.status_code in (403, 404, 409, 422), repair.text
    assert repair.status_code != 201


async def test_private_fields_of_another_organization_are_not_shown_to_an_enterprise(
    client: AsyncClient, world: Dataset
) -> None:
    own = world.headers["enterprise"]
    other = (await client.get(f"/v1/organizations/{world.b.uscc}", headers=own)).json()
    assert not _keys(other) & PRIVATE_FIELDS
    mine = (await client.get(f"/v1/organizations/{world.a.uscc}", headers=own)).json()
    assert mine["legal_representative"] == "法人秘密甲"  # its own record, privileged view


@pytest.mark.parametrize("role", ["anonymous", "partner", "enterprise"])
async def test_repairs_and_history_are_not_reachable_by_id(
    client: AsyncClient, world: Dataset, role: str
) -> None:
    headers = world.headers[role]
    repair = await client.get(f"/v1/repairs/{world.b.repair_id}", headers=headers)
    assert repair.status_code in (401, 403, 404)
    history = await client.get(f"/v1/violations/{world.b.violation_id}/history", headers=headers)
    assert history.status_code in (401, 403, 404)


async def test_partners_never_see_private_fields(client: AsyncClient, world: Dataset) -> None:
    partner = world.headers["partner"]
    for uscc in (world.a.uscc, world.b.uscc):
        for path in ("", "/violations", "/grades", "/inspections", "/recalls", "/credit"):
            response = await client.get(f"/v1/organizations/{uscc}{path}", headers=partner)
            assert response.status_code == 200, response.text
            assert not _keys(response.json()) & PRIVATE_FIELDS, path
    batch = await client.post(
        "/v1/credit/batch", json={"codes": [world.a.uscc, world.b.uscc]}, headers=partner
    )
    changes = await client.get("/v1/changes", params={"limit": 200}, headers=partner)
    for response in (batch, changes):
        assert response.status_code == 200
        assert not _keys(response.json()) & PRIVATE_FIELDS
        assert "法人秘密" not in response.text and "内部案情秘密" not in response.text
