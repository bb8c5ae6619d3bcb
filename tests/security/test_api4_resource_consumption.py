"""API4:2023 Unrestricted Resource Consumption: every bound of SPEC §8.

Each bound is tested at its edge (the bound itself passes, one more is a 422
that names the bound): page size, batch size, item codes per call, CSV size
and rows, comment length, QR image size, request body size. Anonymous callers
are rate limited (429 with Retry-After), key holders are not. And the document
itself: every string, array and number a client can send has a documented
bound, so a field added later without one fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.core.bodylimit import MAX_BODY_BYTES
from app.core.pagination import MAX_LIMIT
from app.records.imports import MAX_BYTES as CSV_MAX_BYTES
from app.records.imports import MAX_ROWS as CSV_MAX_ROWS
from tests.security.dataset import Dataset, fill_path
from tests.security.helpers import DocumentedOperation, document, operations

PAGED = [
    op
    for op in operations()
    if op.method == "GET" and any(p["name"] == "limit" for p in op.spec.get("parameters", []))
]


@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


def _names_bound(response: Any, bound: int | str) -> None:
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert str(bound) in response.json()["detail"], response.json()["detail"]


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in PAGED])
async def test_page_size_is_bounded(
    client: AsyncClient, world: Dataset, op: DocumentedOperation
) -> None:
    path = fill_path(op.path, world)
    headers = world.headers["regulator"] | {"Accept": "application/json"}
    at_bound = await client.get(path, params={"limit": MAX_LIMIT}, headers=headers)
    assert at_bound.status_code == 200, at_bound.text
    _names_bound(await client.get(path, params={"limit": MAX_LIMIT + 1}, headers=headers), 200)
    for bad in ("0", "-1", "1e3", "10" * 20):
        assert (await client.get(path, params={"limit": bad}, headers=headers)).status_code == 422


async def test_a_batch_is_at_most_1000_codes(client: AsyncClient, world: Dataset) -> None:
    partner = world.headers["partner"]
    full = await client.post(
        "/v1/credit/batch", json={"codes": [world.a.uscc] * 1000}, headers=partner
    )
    assert full.status_code == 200
    assert len(full.json()["results"]) == 1000
    over = await client.post(
        "/v1/credit/batch", json={"codes": [world.a.uscc] * 1001}, headers=partner
    )
    _names_bound(over, 1000)
    empty = await client.post("/v1/credit/batch", json={"codes": []}, headers=partner)
    assert empty.status_code == 422


async def test_item_codes_per_call_are_bounded(client: AsyncClient, world: Dataset) -> None:
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    url = f"/v1/products/{world.a.product.gtin}/batches/{world.a.product.lot}/codes"
    regulator = world.headers["regulator"]
    _names_bound(await client.post(url, json={"count": 100_001}, headers=regulator), 100000)
    assert (await client.post(url, json={"count": 0}, headers=regulator)).status_code == 422


def _csv(rows: int, uscc: str, pad: int = 0) -> bytes:
    header = "uscc,case_no,authority,decided_on,category,severity,public_summary\n"
    line = f"{uscc},界{{i}},局,2026-01-05,产品质量,minor,{'x' * pad}\n"
    return (header + "".join(line.format(i=i) for i in range(rows))).encode()


async def test_csv_imports_are_bounded_in_bytes_and_rows(
    client: AsyncClient, world: Dataset
) -> None:
    regulator = world.headers["regulator"] | {"Content-Type": "text/csv"}
    url = "/v1/imports/violations?mode=atomic"
    too_big = b"uscc\n" + b"x" * CSV_MAX_BYTES
    _names_bound(await client.post(url, content=too_big, headers=regulator), CSV_MAX_BYTES)
    as_file = await client.post(
        url,
        files={"file": ("v.csv", too_big, "text/csv")},
        headers=world.headers["regulator"],
    )
    _names_bound(as_file, CSV_MAX_BYTES)
    too_many = _csv(CSV_MAX_ROWS + 1, world.a.uscc)
    _names_bound(await client.post(url, content=too_many, headers=regulator), CSV_MAX_ROWS)


async def test_feedback_comment_and_contact_are_bounded(
    client: AsyncClient, world: Dataset
) -> None:
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    url = f"/01/{world.a.product.code}/feedback"
    headers = {"Accept": "application/json"}
    ok = await client.post(url, json={"rating": 5, "comment": "好" * 500}, headers=headers)
    assert ok.status_code == 201, ok.text
    long_comment = await client.post(
        url, json={"rating": 5, "comment": "好" * 501}, headers=headers
    )
    _names_bound(long_comment, 500)
    long_contact = await client.post(url, json={"rating": 5, "contact": "1" * 101}, headers=headers)
    _names_bound(long_contact, 100)
    for rating in (0, 6):
        assert (await client.post(url, json={"rating": rating}, headers=headers)).status_code == 422


async def test_qr_image_size_is_bounded(client: AsyncClient, world: Dataset) -> None:
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    url = f"/v1/products/{world.a.product.gtin}/qr.png"
    regulator = world.headers["regulator"]
    assert (await client.get(url, params={"size": 2048}, headers=regulator)).status_code == 200
    _names_bound(await client.get(url, params={"size": 2049}, headers=regulator), 2048)
    _names_bound(await client.get(url, params={"size": 63}, headers=regulator), 64)


async def test_request_bodies_are_bounded(client: AsyncClient, world: Dataset) -> None:
    response = await client.post(
        "/v1/credit/batch",
        content=b" " * (MAX_BODY_BYTES + 1),
        headers=world.headers["partner"] | {"Content-Type": "application/json"},
    )
    _names_bound(response, MAX_BODY_BYTES)


async def test_anonymous_callers_are_rate_limited_and_keys_are_not(
    client: AsyncClient, world: Dataset, committed_world: Any
) -> None:
    assert world.a.product is not None, "the seed made no product: it must fail, not skip"
    app: FastAPI = committed_world.app
    saved = app.state.settings
    app.state.settings = saved.model_copy(update={"rate_limit_resolver": "3/minute"})
    app.state.rate_limiter = None  # a fresh limiter with the new rate
    try:
        url = f"/01/{world.a.product.code}"
        accept = {"Accept": "application/json"}
        statuses = [(await client.get(url, headers=accept)).status_code for _ in range(4)]
        assert statuses[:3] == [200, 200, 200] and statuses[3] == 429, statuses
        limited = await client.get(url, headers=accept)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        keyed = [
            (await client.get(url, headers=accept | world.headers["partner"])).status_code
            for _ in range(5)
        ]
        assert keyed == [200] * 5
    finally:
        app.state.settings = saved
        app.state.rate_limiter = None


# --- every size a client can send is bounded in the document ------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _bounded_pattern(pattern: str) -> bool:
    """An anchored pattern without an open-ended repetition fixes the length."""
    anchored = pattern.startswith("^") and pattern.endswith("$")
    return anchored and not re.search(r"(?<!\\)[*+]|\{\d*,\}", pattern)


# Gaps known and owned elsewhere; each must be fixed and removed from here
# (the test fails when an entry is no longer a gap, so the list cannot go stale).
KNOWN_GAPS: frozenset[str] = frozenset()


def _unbounded(schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Strings without maxLength (or an enum, a pattern with a fixed size, a date
    format), arrays without maxItems, numbers without maximum — recursively."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        seen = seen | {ref}
    schema = _resolve(schema)
    found: list[str] = []
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += _unbounded(option, where, seen)
    kind = schema.get("type")
    bounded_formats = ("date", "date-time", "uuid", "binary")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or schema.get("format") in bounded_formats
        or _bounded_pattern(schema.get("pattern", ""))
    ):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += _unbounded(schema.get("items", {}), f"{where}[]", seen)
    if kind == "integer" and "maximum" not in schema and "enum" not in schema:
        found.append(where)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, f"{where}.{name}", seen)
    return found


def test_every_size_a_client_sends_is_bounded_in_the_document() -> None:
    unbounded: list[str] = []
    for op in operations():
        for parameter in op.spec.get("parameters", []):
            where = f"{op.key} {parameter['in']} {parameter['name']}"
            unbounded += _unbounded(parameter.get("schema", {}), where, set())
        for media_type, content in op.spec.get("requestBody", {}).get("content", {}).items():
            if media_type == "application/json":
                unbounded += _unbounded(content.get("schema", {}), f"{op.key} body", set())
    assert not set(unbounded) - KNOWN_GAPS, "\n".join(sorted(set(unbounded) - KNOWN_GAPS))
    assert not KNOWN_GAPS - set(unbounded), (
        f"fixed, remove from KNOWN_GAPS: {KNOWN_GAPS - set(unbounded)}"
    )
