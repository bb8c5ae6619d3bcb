"""API5:2023 Broken Function Level Authorization.

The table below is who may call what, written from SPEC §5 (not read from the
code). Every operation of the OpenAPI document must be in it — an operation
added later fails here until someone decides its roles — and the document's
`x-roles` must agree with it. Then every guarded operation is called as every
role: the admitted roles get past authorization (no 401 or 403, a valid body
so that they usually succeed), anonymous callers get 401 and every other key
403 — and never a 2xx.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.security.bodies import VALID_BODIES
from tests.security.dataset import ROLES, Dataset, fill_path
from tests.security.helpers import DocumentedOperation, operations

PUBLIC = frozenset({"anonymous", "partner", "enterprise", "regulator", "admin"})
REGULATOR = frozenset({"regulator"})
PARTNER = frozenset({"partner", "regulator"})
OWN = frozenset({"enterprise", "regulator"})  # an enterprise key: its own organization

EXPECTED: dict[str, frozenset[str]] = {
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": PUBLIC,
    "PUT /v1/organizations/{code}": REGULATOR,
    "GET /v1/organizations/{code}": PUBLIC,
    "GET /v1/organizations": PUBLIC,
    "GET /v1/organizations/{code}/credit": PUBLIC,
    "POST /v1/imports/violations": REGULATOR,
    "POST /v1/credit/batch": PARTNER,
    "GET /v1/changes": PARTNER,
    "POST /v1/organizations/{code}/repairs": OWN,
    "GET /v1/repairs/{id}": OWN,
    "POST /v1/repairs/{id}/decision": REGULATOR,
    "POST /v1/lists/{kind}/publications": REGULATOR,
    "GET /v1/lists/{kind}/publications": PUBLIC,
    "GET /v1/lists/{kind}/publications/{number}": PUBLIC,
    "GET /v1/lists/{kind}/latest": PUBLIC,
    "GET /v1/lists/{kind}/publications/{number}/diff": PUBLIC,
    "GET /v1/lists/{kind}/feed.atom": PUBLIC,
    "POST /v1/products": OWN,
    "GET /v1/products": OWN,
    "GET /v1/products/{gtin}": OWN,
    "POST /v1/products/{gtin}/batches": OWN,
    "GET /v1/products/{gtin}/batches": OWN,
    "GET /v1/products/{gtin}/batches/{lot}": OWN,
    "POST /v1/products/{gtin}/batches/{lot}/codes": OWN,
    "GET /v1/products/{gtin}/batches/{lot}/codes.csv": OWN,
    "GET /v1/products/{gtin}/batches/{lot}/codes/{serial}": OWN,
    "GET /v1/products/{gtin}/qr.{fmt}": OWN,
    "GET /v1/products/{gtin}/batches/{lot}/qr.{fmt}": OWN,
    "GET /v1/products/{gtin}/batches/{lot}/codes/{serial}/qr.{fmt}": OWN,
    "GET /v1/feedback": OWN,
    "GET /v1/feedback/{id}": OWN,
    "GET /.well-known/gs1resolver": PUBLIC,
    "GET /01/{gtin}": PUBLIC,
    "HEAD /01/{gtin}": PUBLIC,
    "POST /01/{gtin}/feedback": PUBLIC,
    "GET /01/{gtin}/10/{lot}": PUBLIC,
    "HEAD /01/{gtin}/10/{lot}": PUBLIC,
    "POST /01/{gtin}/10/{lot}/feedback": PUBLIC,
    "GET /01/{gtin}/10/{lot}/21/{serial}": PUBLIC,
    "HEAD /01/{gtin}/10/{lot}/21/{serial}": PUBLIC,
    "POST /01/{gtin}/10/{lot}/21/{serial}/feedback": PUBLIC,
    "GET /v1/audit": REGULATOR,
    "POST /v1/complaints": PUBLIC,
    "GET /v1/complaints": OWN,
    "GET /v1/complaints/stats": PUBLIC,
    "GET /v1/complaints/{id}": OWN,
    "POST /v1/complaints/{id}/transitions": REGULATOR,
    "GET /v1/signal-rules": PUBLIC,
    "GET /v1/signals": REGULATOR,
    "GET /v1/signals/{id}": REGULATOR,
    "POST /v1/signals/{id}/transitions": REGULATOR,
    "GET /v1/measures": PUBLIC,
    "GET /v1/measures/{id}": PUBLIC,
    "GET /v1/measures/unacknowledged": REGULATOR,
    "POST /v1/measures": REGULATOR,
    "PUT /v1/measures/{id}": REGULATOR,
    "POST /v1/measures/{id}/applications": PARTNER,
    "POST /v1/subscriptions": PARTNER,
    "GET /v1/subscriptions": PARTNER,
    "GET /v1/subscriptions/{id}": PARTNER,
    "DELETE /v1/subscriptions/{id}": PARTNER,
    "POST /v1/subscriptions/{id}/enable": PARTNER,
    "POST /v1/subscriptions/{id}/rotate-secret": PARTNER,
    "POST /v1/subscriptions/{id}/replay": PARTNER,
    "GET /v1/subscriptions/{id}/notices": PARTNER,
    "POST /v1/recalls/{id}/progress": OWN,
    "GET /v1/recalls/{id}/effectiveness": OWN,
    "POST /v1/recalls/{id}/returns": PUBLIC,
    "GET /v1/audit/tree-head": PUBLIC,
    "GET /v1/audit/keys": PUBLIC,
    "GET /v1/audit/consistency": PUBLIC,
    "GET /v1/audit/entries/{seq}/proof": OWN,  # its own organization's entries
    # Policy versions and due process (SPEC §4.1, §9).
    "GET /v1/policies": PUBLIC,
    "GET /v1/policies/{version}": PUBLIC,
    "POST /v1/organizations/{code}/notices": REGULATOR,
    "GET /v1/organizations/{code}/notices": OWN,
    "GET /v1/notices/{id}": OWN,
    "POST /v1/notices/{id}/delivery": REGULATOR,
    "POST /v1/objections": OWN,
    "GET /v1/objections": OWN,
    "GET /v1/objections/{id}": OWN,
    "POST /v1/objections/{id}/decision": REGULATOR,
    "GET /v1/approvals": REGULATOR,
    "GET /v1/approvals/{id}": REGULATOR,
    "POST /v1/approvals/{id}/decision": REGULATOR,
    "POST /v1/lists/{kind}/publications/{number}/retractions": REGULATOR,
}
for _plural in ("grades", "violations", "inspections", "recalls"):
    EXPECTED[f"POST /v1/organizations/{{code}}/{_plural}"] = REGULATOR
    EXPECTED[f"GET /v1/organizations/{{code}}/{_plural}"] = PUBLIC
    EXPECTED[f"GET /v1/{_plural}/{{id}}"] = PUBLIC
for _plural in ("violations", "inspections", "recalls"):
    EXPECTED[f"GET /v1/{_plural}/{{id}}"] = PUBLIC
    EXPECTED[f"PATCH /v1/{_plural}/{{id}}"] = REGULATOR
    EXPECTED[f"GET /v1/{_plural}/{{id}}/history"] = REGULATOR

GUARDED = [op for op in operations() if EXPECTED.get(op.key, PUBLIC) != PUBLIC]


@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


def test_every_operation_has_decided_roles() -> None:
    undecided = [op.key for op in operations() if op.key not in EXPECTED]
    assert not undecided, f"decide who may call these (add them to EXPECTED): {undecided}"


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in operations()])
def test_the_document_names_the_same_roles(op: DocumentedOperation) -> None:
    expected = EXPECTED.get(op.key)
    assert expected is not None, f"{op.key}: undecided (add it to EXPECTED)"
    if expected == PUBLIC:
        assert op.roles is None, f"{op.key} is public but the document names {op.roles}"
    else:
        assert op.roles == expected | {"admin"}, f"{op.key}: {op.roles}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in GUARDED])
async def test_each_guarded_operation_as_each_role(
    client: AsyncClient, world: Dataset, op: DocumentedOperation, role: str
) -> None:
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    allowed = EXPECTED[op.key] | {"admin"}
    body = VALID_BODIES[op.key](world) if op.key in VALID_BODIES else None
    headers = world.headers[role] | {"Accept": "application/json"}
    path = fill_path(op.path, world)
    if op.method == "PATCH":
        current = await client.get(path, headers=world.headers["regulator"])
        headers["If-Match"] = current.headers["etag"]
    if op.key == "POST /v1/imports/violations":
        response = await client.post(
            path,
            content=f"uscc,case_no,authority,decided_on,category,severity,public_summary\n"
            f"{world.a.uscc},权限{role},局,2026-01-05,产品质量,minor,测试\n".encode(),
            headers=headers | {"Content-Type": "text/csv"},
        )
    else:
        response = await client.request(op.method, path, json=body, headers=headers)
    where = f"{op.key} as {role}: {response.status_code} {response.text[:200]}"
    if role in allowed:
        assert response.status_code not in (401, 403), where
        assert response.status_code < 500, where
    elif role == "anonymous":
        assert response.status_code == 401, where
    else:
        assert response.status_code == 403, where
