"""API9:2023 Improper Inventory Management: the OpenAPI document is the inventory.

Every route the app serves is in `/openapi.json`, or is an HTML page kept out
of it on purpose; every documented operation describes every answer it can
give — problem+json with a schema and an example for each 4xx and 5xx, 401
where a key is read, 403 where roles are restricted, 422 where input is taken,
503 with Retry-After where the database is reached, 429 with Retry-After where
rate limited — and public operations say that a key is optional. Organization
paths name their parameter `{code}` (SPEC §5).
"""

from __future__ import annotations

import re

import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient
from starlette.routing import Mount, Route

from app.codes import described
from app.core.errors import PROBLEM_JSON
from app.core.settings import Settings
from app.main import create_app
from tests.security.helpers import DocumentedOperation, document, operations

FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
NO_DATABASE = {"/healthz", "/metrics"}


def _ids(ops: list[DocumentedOperation]) -> list[object]:
    return [pytest.param(op, id=op.key) for op in ops]


def test_every_served_route_is_documented_or_a_page() -> None:
    app = create_app(Settings(QCR_CODE_SECRET="document-only-secret-0123"))
    documented = {(op.path, op.method) for op in operations()}
    # The resolver's one route is described as the three Digital Link levels.
    levels = [path for _, path, _ in described.LEVELS]
    for method, suffix in (("GET", ""), ("HEAD", ""), ("POST", described.FEEDBACK)):
        if all((path + suffix, method) in documented for path in levels):
            documented.add((described.ROUTE_PATH, method))
    undocumented = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path_format or getattr(route, "path", ""))
        if isinstance(route, Mount) or path in FRAMEWORK:
            continue
        for method in context.methods or ():
            if method == "HEAD" and (path, "GET") in documented:
                continue
            if (path, method) in documented:
                continue
            response_class = getattr(route, "response_class", None)
            response_class = getattr(response_class, "value", response_class)
            is_page = isinstance(response_class, type) and issubclass(response_class, HTMLResponse)
            # The console's forms (a cookie session with CSRF tokens, SPEC §10) post
            # to its pages: the browser application, not operations of the API.
            console_form = method == "POST" and path.startswith("/console/")
            # So does the resolver page's "我已退回" button (a plain public form; its
            # API twin is POST /v1/recalls/{id}/returns).
            page_form = method == "POST" and path == "/recalls/returned"
            if (console_form or page_form) and is_page:
                continue
            if not (isinstance(route, APIRoute | Route) and method in ("GET", "HEAD") and is_page):
                undocumented.append(f"{method} {path}")
    assert not undocumented, f"served but not in the OpenAPI document: {undocumented}"


def test_operation_ids_are_unique_and_operations_described() -> None:
    ids = [op.spec.get("operationId") for op in operations() if op.method != "HEAD"]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for op in operations():
        assert op.spec.get("summary") or op.spec.get("description"), op.key


@pytest.mark.parametrize("op", _ids(operations()))
def test_every_answer_is_described(op: DocumentedOperation) -> None:
    answers = op.spec["responses"]
    assert any(status.startswith("2") or status in ("304", "307") for status in answers), op.key
    for status, entry in answers.items():
        if not status.isdigit() or int(status) < 400 or op.path == "/readyz":
            continue
        problem = entry.get("content", {}).get(PROBLEM_JSON)
        assert problem is not None, f"{op.key} {status}: not problem+json"
        assert problem.get("schema"), f"{op.key} {status}: no schema"
        assert "example" in problem or "examples" in problem, f"{op.key} {status}: no example"
        if status in ("429", "503"):
            assert "Retry-After" in entry.get("headers", {}), f"{op.key} {status}: no Retry-After"
    if op.spec.get("security"):
        assert "401" in answers, op.key
    if op.roles is not None and op.roles != {"admin", "regulator", "partner", "enterprise"}:
        assert "403" in answers, op.key
    if op.spec.get("parameters") or "requestBody" in op.spec:
        assert "422" in answers, op.key
    if op.path not in NO_DATABASE:
        assert "503" in answers, op.key


@pytest.mark.parametrize("op", _ids([op for op in operations() if op.spec.get("security")]))
def test_public_operations_make_the_key_optional(op: DocumentedOperation) -> None:
    optional = {} in op.spec["security"]
    assert optional == (op.roles is None), f"{op.key}: security {op.spec['security']}"


def test_organization_paths_name_their_parameter_code() -> None:
    for path in document()["paths"]:
        match = re.match(r"^/v1/organizations/\{(\w+)\}", path)
        if match:
            assert match.group(1) == "code", path


async def test_the_served_document_is_the_complete_one(client: AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    assert served["paths"].keys() == document()["paths"].keys()
    assert served == document()
