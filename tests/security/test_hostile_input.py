"""Hostile input, as a table: every operation of the OpenAPI document that takes a
body or query parameters × every kind of hostile payload.

Bodies: malformed JSON, JSON that is not UTF-8, the wrong JSON type, nesting
100,000 deep, 10 MB (with and without Content-Length), the wrong media type.
Fields (one field at a time, from a valid body): NUL and other control
characters, lone surrogates, SQL-like and HTML/JS strings, 1 MB strings, huge
numbers, NaN and Infinity, wrong types, unknown enum values, impossible dates,
100,000-element arrays, fields that do not exist. Query parameters: NUL, huge
numbers, SQL, 10,000 characters, impossible dates.

Nothing may answer 5xx; a rejection is `application/problem+json` and changes
nothing (the content of every table is compared before and after, row by row
through a digest per table: `tests/snapshot.py`); payloads that can never be
valid must be rejected. Stored `<script>` in names is escaped on every HTML page.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests import figures
from tests.security.bodies import UNDOCUMENTED_BODIES, VALID_BODIES, days
from tests.security.conftest import CommittedWorld
from tests.security.dataset import Dataset, fill_path
from tests.security.helpers import document
from tests.snapshot import changed_tables, snapshot

DOCUMENT = document()
MEGABYTE = 1024 * 1024
FIGURE = "hostile inputs"
for _name in ("sent", "rejected", "accepted"):
    figures.add(FIGURE, _name, 0)


# --- what the document says about each operation --------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema)
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [_resolve(o) for o in options if _resolve(o).get("type") != "null"]


def categories(schema: dict[str, Any]) -> set[str]:
    """What kind of value a property holds: string, date, enum, number, array, boolean."""
    found: set[str] = set()
    for option in _alternatives(schema):
        kind = option.get("type")
        if "enum" in option or "const" in option:
            found.add("enum")
        elif option.get("format") in ("date", "date-time"):
            found.add("date")
        elif kind in ("number", "integer"):
            found.add("number")
        elif kind in ("string", "array", "boolean", "object"):
            found.add(str(kind))
    return found


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    properties: dict[str, set[str]]  # JSON body properties and their categories
    query: dict[str, set[str]]  # query parameters and their categories

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _operations() -> list[Operation]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            properties = {}
            if body is not None:
                properties = {
                    name: categories(schema)
                    for name, schema in _resolve(body["schema"]).get("properties", {}).items()
                }
            key = f"{method.upper()} {path}"
            if body is None and key in UNDOCUMENTED_BODIES:
                properties = UNDOCUMENTED_BODIES[key]
            query = {
                p["name"]: categories(p.get("schema", {}))
                for p in operation.get("parameters", [])
                if p["in"] == "query"
            }
            if properties or body is not None or query:
                found.append(Operation(method.upper(), path, properties, query))
    return found


OPERATIONS = _operations()
BODY_OPERATIONS = [op for op in OPERATIONS if op.properties or op.key in VALID_BODIES]
QUERY_OPERATIONS = [op for op in OPERATIONS if op.method == "GET" and op.query]


# --- payloads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldPayload:
    applies_to: frozenset[str]  # property categories
    values: tuple[Any, ...]
    must_reject: bool


FIELD_PAYLOADS: dict[str, FieldPayload] = {
    "nul_character": FieldPayload(frozenset({"string"}), ("a\x00b", "\x00"), True),
    "lone_surrogate": FieldPayload(frozenset({"string"}), ("\ud800x",), True),
    "control_characters": FieldPayload(frozenset({"string"}), ("a\x01\x07\x1b[31m\x7fb",), False),
    "sql_like": FieldPayload(
        frozenset({"string"}),
        ("'; DROP TABLE organizations; --", "' OR '1'='1' --", "%_\\"),
        False,
    ),
    "html_js": FieldPayload(
        frozenset({"string"}),
        ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'),
        False,
    ),
    "megabyte_string": FieldPayload(frozenset({"string", "date", "enum"}), ("x" * MEGABYTE,), True),
    "huge_numbers": FieldPayload(frozenset({"number"}), (1e308, 10**30, -(10**30)), True),
    "nan_infinity": FieldPayload(
        frozenset({"number"}), (float("nan"), float("inf"), float("-inf")), True
    ),
    "wrong_type_object": FieldPayload(
        frozenset({"string", "date", "enum", "number", "array", "boolean"}), ({"a": 1},), True
    ),
    "wrong_type_number": FieldPayload(frozenset({"string", "date", "array"}), (12345.5,), True),
    "wrong_type_boolean": FieldPayload(frozenset({"string", "date", "array"}), (True,), True),
    "unknown_enum": FieldPayload(frozenset({"enum"}), ("EXTREME", "", "Serious "), True),
    "impossible_dates": FieldPayload(
        frozenset({"date"}),
        ("2026-02-30", "0000-01-01", "2026-13-01", "+10000-01-01", "2026-1-1", "yesterday"),
        True,
    ),
    "huge_array": FieldPayload(frozenset({"array"}), (["x"] * 100_000,), True),
}

BODY_PAYLOADS: dict[str, tuple[bytes, str, bool]] = {
    # name: (raw body, content type, send without Content-Length)
    "truncated_json": (b'{"name": "x"', "application/json", False),
    "single_quoted_json": (b"{'name': 'x'}", "application/json", False),
    "not_utf8": (b'{"name": "\xff\xfe\xfd"}', "application/json", False),
    "empty_body": (b"", "application/json", False),
    "json_null": (b"null", "application/json", False),
    "json_array": (b"[]", "application/json", False),
    "json_string": (b'"text"', "application/json", False),
    "json_huge_number": (b"1e999", "application/json", False),
    "deep_nesting": (b"[" * 100_000 + b"]" * 100_000, "application/json", False),
    "xml_body": (b"<name>x</name>", "application/xml", False),
    "ten_megabytes": (b'{"name": "' + b"x" * (10 * MEGABYTE) + b'"}', "application/json", False),
    "ten_megabytes_streamed": (
        b'{"name": "' + b"x" * (10 * MEGABYTE) + b'"}',
        "application/json",
        True,
    ),
}

QUERY_PAYLOADS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "query_nul": (frozenset({"string", "date", "enum", "number", "boolean"}), ("a\x00b",)),
    "query_huge_number": (
        frozenset({"number", "string"}),
        ("1" + "0" * 40, "-1" + "0" * 40, "1e308", "NaN"),
    ),
    "query_sql": (frozenset({"string", "enum"}), ("' OR 1=1 --", "%")),
    "query_long_string": (frozenset({"string", "date", "enum"}), ("x" * 10_000,)),
    "query_impossible_date": (frozenset({"date"}), ("2026-02-30", "0000-01-01", "99999-01-01")),
}


def _applicable(op: Operation, payload: FieldPayload) -> list[str]:
    """Fields the payload is hostile to: of a kind it applies to, and not of a kind
    that would accept it (a number is a fine value for a number-or-string field)."""
    wrong_type = payload.applies_to.isdisjoint({"number", "boolean"}) and any(
        isinstance(v, (int, float)) for v in payload.values
    )
    return [
        name
        for name, kinds in op.properties.items()
        if kinds & payload.applies_to and not (wrong_type and kinds & {"number", "boolean"})
    ]


FIELD_CASES = [
    pytest.param(op, name, id=f"{op.key} {name}")
    for op in BODY_OPERATIONS
    for name, payload in FIELD_PAYLOADS.items()
    if _applicable(op, payload)
]
BODY_CASES = [
    pytest.param(op, name, id=f"{op.key} {name}")
    for op in BODY_OPERATIONS
    for name in BODY_PAYLOADS
]
QUERY_CASES = [
    pytest.param(op, name, id=f"{op.key} {name}")
    for op in QUERY_OPERATIONS
    for name, (kinds, _) in QUERY_PAYLOADS.items()
    if any(k & kinds for k in op.query.values())
]


# --- the harness -----------------------------------------------------------------------


class Probe:
    """Sends one hostile request and checks what it did."""

    def __init__(self, world: CommittedWorld, connection: AsyncConnection) -> None:
        self.world = world
        self.connection = connection

    async def state(self) -> dict[str, tuple[int, str]]:
        """The content of every table (a digest per table, rows in primary-key order)."""
        state = await snapshot(self.connection)
        await self.connection.commit()  # a fresh snapshot next time
        return state

    def path(self, op: Operation) -> str:
        path = fill_path(op.path, self.world.dataset)
        return path

    async def headers(self, op: Operation) -> dict[str, str]:
        headers = dict(self.world.dataset.headers["regulator"])
        headers["Idempotency-Key"] = uuid.uuid4().hex
        headers["Accept"] = "application/json"
        if op.method == "PATCH":  # the current version, so that only the body decides
            current = await self.world.client.get(self.path(op), headers=headers)
            headers["If-Match"] = current.headers.get("etag", '"v1"')
        return headers

    async def send(
        self,
        op: Operation,
        label: str,
        *,
        content: bytes | AsyncIterator[bytes] | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
        must_reject: bool,
    ) -> Response:
        headers = await self.headers(op)
        if content_type:
            headers["Content-Type"] = content_type
        before = await self.state()
        response = await self.world.client.request(
            op.method, self.path(op), content=content, params=params, headers=headers
        )
        figures.add(FIGURE, "sent")
        where = f"{op.key} [{label}]"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            figures.add(FIGURE, "rejected")
            media_type = response.headers["content-type"].split(";")[0]
            # The resolver answers a form post (anything but JSON) with an HTML page.
            html_ok = op.path.startswith("/01/") and "json" not in (content_type or "json")
            assert media_type == "application/problem+json" or html_ok, (where, media_type)
            after = await self.state()
            assert after == before, (
                f"{where}: a rejected request changed {changed_tables(before, after)}"
            )
        else:
            figures.add(FIGURE, "accepted")
            assert not must_reject, f"{where}: accepted ({response.status_code})"
            if op.method == "GET" and not op.path.startswith(
                "/01/"
            ):  # a resolver GET counts a scan
                after = await self.state()
                assert after == before, f"{where}: a read changed {changed_tables(before, after)}"
        return response


@pytest.fixture(scope="module")
async def probe_connection(committed_world: CommittedWorld) -> AsyncIterator[AsyncConnection]:
    async with committed_world.engine.connect() as connection:
        yield connection


@pytest.fixture
def probe(committed_world: CommittedWorld, probe_connection: AsyncConnection) -> Probe:
    return Probe(committed_world, probe_connection)


def _json(body: dict[str, Any]) -> bytes:
    # allow_nan: NaN and Infinity go out as the bare tokens Python's parser accepts
    return json.dumps(body, allow_nan=True).encode()


def _valid_body(op: Operation, dataset: Dataset) -> dict[str, Any]:
    factory = VALID_BODIES.get(op.key)
    if factory is not None:
        return factory(dataset)
    # An operation added after this table: a body of plausible values from its schema.
    samples = {"string": "x", "date": days(-1), "number": 1, "array": [], "boolean": False}
    return {
        name: next((samples[k] for k in ("date", "number", "array", "boolean") if k in kinds), "x")
        for name, kinds in op.properties.items()
    }


@pytest.mark.parametrize(("op", "payload"), FIELD_CASES)
async def test_hostile_field(probe: Probe, op: Operation, payload: str) -> None:
    spec = FIELD_PAYLOADS[payload]
    for field in _applicable(op, spec):
        for value in spec.values:
            body = _valid_body(op, probe.world.dataset) | {field: value}
            await probe.send(
                op,
                f"{field}={str(value)[:30]!r}",
                content=_json(body),
                content_type="application/json",
                must_reject=spec.must_reject,
            )


async def _chunks(raw: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), MEGABYTE):
        yield raw[start : start + MEGABYTE]


@pytest.mark.parametrize(("op", "payload"), BODY_CASES)
async def test_hostile_body(probe: Probe, op: Operation, payload: str) -> None:
    raw, content_type, streamed = BODY_PAYLOADS[payload]
    content: bytes | AsyncIterator[bytes] = raw
    if streamed:  # no Content-Length: the bound must hold while the body arrives
        content = _chunks(raw)
    response = await probe.send(
        op, payload, content=content, content_type=content_type, must_reject=True
    )
    if payload.startswith("ten_megabytes"):
        assert response.status_code == 422
        assert "6291456 bytes" in response.json()["detail"]


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in BODY_OPERATIONS])
async def test_unknown_fields_are_rejected(probe: Probe, op: Operation) -> None:
    body = _valid_body(op, probe.world.dataset) | {"unexpected_field": 1}
    await probe.send(
        op,
        "unexpected_field",
        content=_json(body),
        content_type="application/json",
        must_reject=True,
    )


@pytest.mark.parametrize(("op", "payload"), QUERY_CASES)
async def test_hostile_query(probe: Probe, op: Operation, payload: str) -> None:
    kinds, values = QUERY_PAYLOADS[payload]
    for name, categories_ in op.query.items():
        if not categories_ & kinds:
            continue
        for value in values:
            # Unstorable text is always refused; the rest may be a valid (if unmatched)
            # search, and a GET changes nothing whatever it answers.
            await probe.send(
                op, f"{name}={value[:30]!r}", params={name: value}, must_reject="\x00" in value
            )


# Each change is made when the test runs: a date computed at import goes stale at midnight.
IMPOSSIBLE_COMBINATIONS: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    (
        "POST /v1/organizations/{code}/grades",
        lambda: {"valid_until": days(-20)},
    ),  # before assessed_on
    (
        "POST /v1/organizations/{code}/violations",
        lambda: {"rectified_on": days(-30)},
    ),  # < decided_on
    ("POST /v1/organizations/{code}/violations", lambda: {"decided_on": days(1)}),  # the future
    (
        "POST /v1/organizations/{code}/inspections",
        lambda: {"rectified_on": days(-9)},
    ),  # < inspected_on
    (
        "POST /v1/organizations/{code}/inspections",
        lambda: {"result": "pass"},
    ),  # pass with failed items
    ("POST /v1/organizations/{code}/recalls", lambda: {"initiated_on": days(3)}),
    ("POST /v1/credit/batch", lambda: {"as_of": days(2)}),
    ("POST /v1/lists/{kind}/publications", lambda: {"as_of": days(5)}),
    ("POST /v1/products/{gtin}/batches", lambda: {"expires_on": days(-30)}),  # before produced_on
]


@pytest.mark.parametrize(
    ("key", "change_at"),
    [pytest.param(k, c, id=f"{k} {sorted(c())}") for k, c in IMPOSSIBLE_COMBINATIONS],
)
async def test_impossible_combinations(
    probe: Probe, key: str, change_at: Callable[[], dict[str, Any]]
) -> None:
    change = change_at()
    op = next((o for o in BODY_OPERATIONS if o.key == key), None)
    assert op is not None, f"{key} is not in the OpenAPI document: renamed? update this table"
    body = _valid_body(op, probe.world.dataset) | change
    response = await probe.send(
        op, str(change), content=_json(body), content_type="application/json", must_reject=True
    )
    assert response.status_code == 422


# --- stored HTML and JavaScript, on every page ---------------------------------------------

SCRIPT = "<script>alert('qcr')</script>"
ESCAPED = "&lt;script&gt;alert("
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def html_pages(app: FastAPI) -> list[str]:
    """GET routes that answer HTML: the pages outside the document, and the resolver."""
    pages = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in (context.methods or ()):
            continue
        path = str(context.path_format)
        response_class = getattr(route.response_class, "value", route.response_class)
        is_html = isinstance(response_class, type) and issubclass(response_class, HTMLResponse)
        if is_html or path.startswith("/01/"):
            pages.append(path)
    return pages


async def test_stored_script_is_escaped_on_every_page(
    committed_world: CommittedWorld, engine: AsyncEngine
) -> None:
    world, client = committed_world, committed_world.client
    regulator = world.dataset.headers["regulator"]
    for uscc in (world.dataset.a.uscc, world.dataset.b.uscc):
        renamed = await client.put(
            f"/v1/organizations/{uscc}",
            json={"name": f"{SCRIPT}有限公司", "address": f"{SCRIPT}路1号"},
            headers=regulator,
        )
        assert renamed.status_code == 200, renamed.text
    await client.post(
        f"/v1/organizations/{world.dataset.b.uscc}/violations",
        json=VALID_BODIES["POST /v1/organizations/{code}/violations"](world.dataset)
        | {"public_summary": SCRIPT, "category": SCRIPT},
        headers=regulator,
    )
    published = {}
    for kind in ("red", "black"):
        made = await client.post(f"/v1/lists/{kind}/publications", json={}, headers=regulator)
        assert made.status_code == 201, made.text
        published[kind] = made.json()["number"]
    checked, shown = [], []
    for template in html_pages(world.app):
        for organization in (world.dataset.a, world.dataset.b):
            dataset = Dataset(organization, organization, world.dataset.headers, {}, published)
            path = fill_path(template, dataset)
            response = await client.get(path, headers={"Accept": "text/html"})
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            checked.append((path, response.status_code))
            page = response.text
            assert "<script" not in page.lower(), f"{path}: a <script> element on the page"
            assert not EVENT_HANDLER.search(page), f"{path}: an element with an event handler"
            if response.status_code == 200 and ESCAPED in page:
                shown.append(path)
    assert checked, "no HTML page was checked"
    assert any(path.startswith("/organizations/") for path in shown), (checked, shown)


def test_every_table_entry_names_a_documented_operation() -> None:
    """A renamed route must fail here, not drop silently out of the table."""
    documented = {op.key for op in _operations()} | {
        f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items() for method in item
    }
    named = set(VALID_BODIES) | set(UNDOCUMENTED_BODIES) | {k for k, _ in IMPOSSIBLE_COMBINATIONS}
    assert named <= documented, sorted(named - documented)
    assert {op.key for op in BODY_OPERATIONS} >= set(VALID_BODIES), "a valid body is never sent"
