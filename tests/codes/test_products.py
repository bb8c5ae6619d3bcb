"""Products and batches: validation, GTIN-14 storage, the enterprise boundary, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from tests.codes.helpers import (
    TODAY,
    batch_body,
    lot_path,
    make_batch,
    make_product,
    product_body,
    report,
)
from tests.factories import make_key, make_organization


async def test_regulator_registers_a_product_as_gtin14(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    body = product_body(uscc, gtin="6901234567892")
    response = await client.post("/v1/products", json=body, headers=regulator)
    assert response.status_code == 201, response.text
    product = response.json()
    assert product["gtin"] == "06901234567892"
    assert product["uscc"] == uscc
    assert product["uri"] == "http://localhost:8000/01/06901234567892"
    assert response.headers["location"] == "/v1/products/06901234567892"
    # GTIN-13 in the path finds it too.
    again = await client.get("/v1/products/6901234567892", headers=regulator)
    assert again.json()["id"] == product["id"]


async def test_enterprise_registers_its_own_product_only(
    client: AsyncClient, session: AsyncSession, enterprise: dict[str, str], uscc: str
) -> None:
    own = await client.post("/v1/products", json=product_body(uscc), headers=enterprise)
    assert own.status_code == 201
    other = await make_organization(session)
    response = await client.post("/v1/products", json=product_body(other), headers=enterprise)
    assert response.status_code == 403


async def test_another_organizations_product_and_batch_are_not_found(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    enterprise: dict[str, str],
) -> None:
    other = await make_organization(session)
    gtin = await make_product(client, regulator, other)
    await make_batch(client, regulator, gtin, "L1")
    for path in (
        f"/v1/products/{gtin}",
        f"/v1/products/{gtin}/batches",
        f"/v1/products/{gtin}/batches/L1",
        f"/v1/products/{gtin}/batches/L1/codes.csv",
        f"/v1/products/{gtin}/qr.png",
    ):
        response = await client.get(path, headers=enterprise)
        assert response.status_code == 404, path
        assert "電熱" not in response.text and other not in response.text
    post = await client.post(
        f"/v1/products/{gtin}/batches", json=batch_body("L2"), headers=enterprise
    )
    assert post.status_code == 404
    codes = await client.post(
        f"/v1/products/{gtin}/batches/L1/codes", json={"count": 1}, headers=enterprise
    )
    assert codes.status_code == 404
    listed = await client.get("/v1/products", headers=enterprise)
    assert listed.json()["items"] == []
    assert (await client.get(f"/v1/products?uscc={other}", headers=enterprise)).status_code == 403


async def test_roles_outside_enterprise_and_regulator(
    client: AsyncClient, partner: dict[str, str], uscc: str
) -> None:
    assert (await client.get("/v1/products/6901234567892")).status_code == 401
    assert (await client.get("/v1/products/6901234567892", headers=partner)).status_code == 403
    response = await client.post("/v1/products", json=product_body(uscc), headers=partner)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("gtin", "message"),
    [
        ("6901234567890", "expected 2"),
        ("690123456789", "expected"),
        ("69012345678921", "expected"),
        ("12345", "8, 12, 13 or 14 digits"),
        ("69012345A7892", "not a digit"),
    ],
)
async def test_bad_gtin_is_422_naming_the_check_digit(
    client: AsyncClient, regulator: dict[str, str], uscc: str, gtin: str, message: str
) -> None:
    response = await client.post(
        "/v1/products", json=product_body(uscc, gtin=gtin), headers=regulator
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "gtin"
    assert message in problem["errors"][0]["message"]
    path = await client.get(f"/v1/products/{gtin}", headers=regulator)
    assert path.status_code == 422


async def test_duplicate_gtin_is_409_and_unknown_producer_422(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    again = await client.post("/v1/products", json=product_body(uscc, gtin=gtin), headers=regulator)
    assert again.status_code == 409
    from tests.factories import random_uscc

    unknown = await client.post("/v1/products", json=product_body(random_uscc()), headers=regulator)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "uscc"


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"factory_address": "x" * 501},
        {"execution_standard": None},
        {"unexpected": 1},
        {"uscc": "91110000600037341X"},
    ],
)
async def test_product_bounds(
    client: AsyncClient, regulator: dict[str, str], uscc: str, overrides: dict[str, object]
) -> None:
    body = product_body(uscc) | overrides
    response = await client.post("/v1/products", json=body, headers=regulator)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(overrides))


async def test_creating_is_audited_and_idempotent(
    client: AsyncClient, session: AsyncSession, enterprise: dict[str, str], uscc: str
) -> None:
    body = product_body(uscc)
    headers = enterprise | {"Idempotency-Key": "p-1"}
    first = await client.post("/v1/products", json=body, headers=headers)
    again = await client.post("/v1/products", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    gtin = first.json()["gtin"]
    entries = (await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == gtin))).all()
    assert [e.action for e in entries] == ["product.create"]
    assert entries[0].actor_role == "enterprise"


async def test_batch_with_inspection_reports(
    client: AsyncClient, enterprise: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    gtin = await make_product(client, enterprise, uscc)
    body = batch_body(
        "L2026/11-A",
        inspection_reports=[report(), report(result="fail", failed_items=["耐热"])],
    )
    response = await client.post(f"/v1/products/{gtin}/batches", json=body, headers=enterprise)
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["lot"] == "L2026/11-A"
    assert batch["code_count"] == 0
    assert [r["result"] for r in batch["inspection_reports"]] == ["pass", "fail"]
    assert batch["uri"].endswith(f"/01/{gtin}/10/L2026%2F11-A")
    assert response.headers["location"] == f"/v1/products/{gtin}/batches/L2026%2F11-A"
    # The encoded slash stays part of the lot on the way back in.
    read = await client.get(response.headers["location"], headers=enterprise)
    assert read.status_code == 200 and read.json()["id"] == batch["id"]
    listed = await client.get(f"/v1/products/{gtin}/batches", headers=enterprise)
    assert [b["lot"] for b in listed.json()["items"]] == ["L2026/11-A"]
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.entity_id == batch["id"]))
    assert audit is not None and audit.action == "batch.create"
    duplicate = await client.post(f"/v1/products/{gtin}/batches", json=body, headers=enterprise)
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lot": "L 1"}, "lot"),
        ({"lot": "批次1"}, "lot"),
        ({"lot": "L" * 21}, "lot"),
        ({"lot": ""}, "lot"),
        ({"expires_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "body"),
        ({"produced_on": "2026-02-30"}, "produced_on"),
        ({"produced_on": (TODAY + dt.timedelta(days=400)).isoformat()}, "produced_on"),
        ({"inspection_reports": [report()] * 21}, "inspection_reports"),
        ({"inspection_reports": [report(result="maybe")]}, "inspection_reports[0].result"),
        ({"inspection_reports": [report(failed_items=["x"])]}, "inspection_reports[0]"),
        (
            {
                "inspection_reports": [
                    report(inspected_on=(TODAY + dt.timedelta(days=1)).isoformat())
                ]
            },
            "inspection_reports[0].inspected_on",
        ),
    ],
)
async def test_batch_bounds(
    client: AsyncClient,
    regulator: dict[str, str],
    uscc: str,
    overrides: dict[str, object],
    field: str,
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(
        f"/v1/products/{gtin}/batches",
        json=batch_body() | overrides,
        headers=regulator,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_bad_lot_in_the_path_is_422(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.get(
        f"/v1/products/{gtin}/batches/{lot_path('批次')}", headers=regulator
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lot"


async def test_enterprise_lists_its_products(
    client: AsyncClient, session: AsyncSession, uscc: str, enterprise: dict[str, str]
) -> None:
    gtins = sorted([await make_product(client, enterprise, uscc) for _ in range(3)])
    page = await client.get("/v1/products?limit=2", headers=enterprise)
    assert [p["gtin"] for p in page.json()["items"]] == gtins[:2]
    rest = await client.get(
        f"/v1/products?limit=2&cursor={page.json()['next_cursor']}", headers=enterprise
    )
    assert [p["gtin"] for p in rest.json()["items"]] == gtins[2:]
    assert rest.json()["next_cursor"] is None
    assert (await client.get("/v1/products?limit=201", headers=enterprise)).status_code == 422
    regulator = await make_key(session, "regulator")
    mine = await client.get(f"/v1/products?uscc={uscc}", headers=regulator)
    assert {p["gtin"] for p in mine.json()["items"]} == set(gtins)
