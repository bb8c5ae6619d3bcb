"""API3:2023 Broken Object Property Level Authorization.

Exposure: every GET operation of the OpenAPI document (and every HTML page) is
called, with data present, as each role that is not a regulator, for both
organizations; no response may carry a private field (`legal_representative`,
internal `description`, feedback `contact`, `created_by`) or the text of one —
except an enterprise key reading its own organization, which the README allows
its legal representative and `created_by`.

Mass assignment: server-owned fields (`id`, `version`, `created_at`,
`updated_at`, `created_by`, `repaired_on`, a repair's `status` …) cannot be
set by a client on any write: the body is refused, and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.security.bodies import VALID_BODIES
from tests.security.conftest import CommittedWorld
from tests.security.dataset import PRIVATE_FIELDS, SECRET_MARKERS, Dataset, fill_path
from tests.security.helpers import DocumentedOperation, operations
from tests.security.test_hostile_input import html_pages

READS = [op for op in operations() if op.method == "GET"]
OWN_VISIBLE = frozenset({"legal_representative", "created_by"})
OWN_REPRESENTATIVE = "法人秘密甲"  # A's, which A's own key may read
OUTSIDERS = ("anonymous", "partner", "enterprise")

# Server-owned: set by the service, never by a request body.
SERVER_OWNED: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-000000000001",
    "version": 99,
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "created_by": "00000000-0000-0000-0000-000000000002",
    "repaired_on": "2000-01-01",
    "org_code": "600037341",
    "requested_role": "regulator",
    "decided_on_by": "admin",
    "scan_count": 0,
    "audit_seq": 1,
    "sha256": "0" * 64,
}


@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


def _private_keys(value: Any, own: frozenset[str], path: str = "") -> list[str]:
    """Key paths of private fields in a JSON document; an object of the `own`
    organization (an enterprise key reading its own) may hold its legal
    representative and `created_by`, never an internal description or a contact."""
    found: list[str] = []
    if isinstance(value, dict):
        mine = bool({value.get("uscc"), value.get("gtin")} & own)
        forbidden = PRIVATE_FIELDS - OWN_VISIBLE if mine else PRIVATE_FIELDS
        for key, item in value.items():
            if key in forbidden:
                found.append(f"{path}.{key}")
            found += _private_keys(item, own, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _private_keys(item, own, f"{path}[{index}]")
    return found


def _leaks(text: str, document: Any, own: frozenset[str]) -> list[str]:
    markers = [m for m in SECRET_MARKERS if m in text]
    if own:
        markers = [m for m in markers if m != OWN_REPRESENTATIVE]
    return markers + _private_keys(document, own)


def _own(world: Dataset) -> frozenset[str]:
    """What identifies organization A's objects: its USCC and its product's GTIN."""
    return frozenset({world.a.uscc, world.a.product.gtin if world.a.product else world.a.uscc})


def _targets(world: Dataset) -> list[tuple[str, Dataset]]:
    other = Dataset(world.b, world.a, world.headers, world.enterprise_b, world.publications)
    return [("A", world), ("B", other)]


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in READS])
async def test_no_private_field_in_any_read(
    client: AsyncClient, world: Dataset, op: DocumentedOperation, role: str
) -> None:
    seen = []
    for label, dataset in _targets(world):
        path = fill_path(op.path, dataset)
        params = {"q": "安全测试"} if op.path == "/v1/organizations" else None
        headers = world.headers[role] | {"Accept": "application/json"}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code < 500, response.text
        seen.append(response.status_code)
        if response.status_code >= 300:
            continue
        own = _own(world) if role == "enterprise" else frozenset()
        is_json = "json" in response.headers.get("content-type", "")
        document = response.json() if is_json else None
        leaks = _leaks(response.text, document, own)
        assert not leaks, f"{op.key} as {role} for {label}: {leaks}"


@pytest.mark.parametrize("role", ["anonymous", "partner"])
async def test_no_private_text_on_any_page(
    client: AsyncClient, committed_world: CommittedWorld, world: Dataset, role: str
) -> None:
    for template in html_pages(committed_world.app):
        for _, dataset in _targets(world):
            response = await client.get(
                fill_path(template, dataset), headers=world.headers[role] | {"Accept": "text/html"}
            )
            assert response.status_code < 500
            assert not _leaks(response.text, None, frozenset()), template


async def test_lists_and_search_show_the_public_view(client: AsyncClient, world: Dataset) -> None:
    for role in OUTSIDERS:
        found = await client.get(
            "/v1/organizations", params={"q": "安全测试"}, headers=world.headers[role]
        )
        assert found.status_code == 200
        assert {item["uscc"] for item in found.json()["items"]} >= {world.a.uscc, world.b.uscc}
        for item in found.json()["items"]:
            own = role == "enterprise" and item["uscc"] == world.a.uscc
            if not own:
                assert not set(item) & PRIVATE_FIELDS, (role, item)


# --- mass assignment ------------------------------------------------------------------

WRITES = [op for op in operations() if op.is_write and op.key in VALID_BODIES]


def _documented_fields(op: DocumentedOperation) -> set[str]:
    from tests.security.test_hostile_input import OPERATIONS

    return next((set(o.properties) for o in OPERATIONS if o.key == op.key), set())


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in WRITES])
async def test_server_owned_fields_cannot_be_set(
    client: AsyncClient, world: Dataset, op: DocumentedOperation
) -> None:
    owned = {k: v for k, v in SERVER_OWNED.items() if k not in _documented_fields(op)}
    headers = world.headers["regulator"] | {"Accept": "application/json"}
    for field, value in owned.items():
        body = VALID_BODIES[op.key](world) | {field: value}
        path = fill_path(op.path, world)
        if op.method == "PATCH":
            headers["If-Match"] = (await client.get(path, headers=headers)).headers["etag"]
        response = await client.request(op.method, path, json=body, headers=headers)
        assert response.status_code == 422, f"{op.key} accepted {field}: {response.text[:200]}"
        assert any(e["field"] == field for e in response.json()["errors"]), response.text


async def test_an_organization_keeps_its_identity_and_version(
    client: AsyncClient, world: Dataset
) -> None:
    regulator = world.headers["regulator"]
    url = f"/v1/organizations/{world.a.uscc}"
    before = (await client.get(url, headers=regulator)).json()
    for field in ("id", "uscc", "version", "created_at", "org_code", "region"):
        response = await client.put(url, json={"name": "改名公司", field: "x"}, headers=regulator)
        assert response.status_code == 422, (field, response.text)
    after = (await client.get(url, headers=regulator)).json()
    assert after == before


async def test_an_enterprise_key_cannot_choose_the_organization(
    client: AsyncClient, world: Dataset
) -> None:
    """`uscc` of an enterprise key's writes is its own, whatever the body says."""
    own = world.headers["enterprise"]
    product = VALID_BODIES["POST /v1/products"](world) | {"uscc": world.b.uscc}
    response = await client.post("/v1/products", json=product, headers=own)
    assert response.status_code in (403, 404, 422), response.text


async def test_a_repair_request_cannot_set_its_status_or_decision(
    client: AsyncClient, world: Dataset
) -> None:
    url = f"/v1/organizations/{world.a.uscc}/repairs"
    for extra in ({"status": "approved"}, {"decided_on": "2020-01-01"}, {"decision_reason": "x"}):
        body = {"violation_id": world.a.violation_id, "reason": "申请"} | extra
        response = await client.post(url, json=body, headers=world.headers["enterprise"])
        assert response.status_code == 422, response.text
    repair = await client.get(
        f"/v1/repairs/{world.a.repair_id}", headers=world.headers["regulator"]
    )
    assert repair.json()["status"] == "pending"


async def test_repaired_on_is_set_only_by_an_approved_repair(
    client: AsyncClient, world: Dataset
) -> None:
    regulator = world.headers["regulator"]
    url = f"/v1/violations/{world.a.violation_id}"
    etag = (await client.get(url, headers=regulator)).headers["etag"]
    response = await client.patch(
        url, json={"repaired_on": "2026-01-01"}, headers=regulator | {"If-Match": etag}
    )
    assert response.status_code == 422
    assert (await client.get(url, headers=regulator)).json()["repaired_on"] is None
