"""Completes the OpenAPI document FastAPI generates, so it describes every response.

Routes list the problems particular to them (`routing.responses(...)`); what
holds for every route is added here, once, so that a route added later is
described correctly without remembering to:

- an operation that reads an API key can answer 401 (unknown, revoked or
  malformed key), and one that admits only some roles 403; its roles are named
  (`x-roles` and the description), and a public one has optional security;
- an operation with parameters or a body can answer 422 (and so can any request
  whose body exceeds the bound of `app/core/bodylimit.py`);
- anything that reaches the database can answer 503 with `Retry-After`;
- an operation behind a rate limit can answer 429 with `Retry-After`, whatever
  its roles (an anonymous call is counted before its missing key is refused);
- every problem response is `application/problem+json` (its first media type)
  referring to the one `Problem` component, with an example (FastAPI's own `HTTPValidationError` 422
  is replaced by ours);
- a success that has a JSON form lists `application/json` first (generators
  take the first media type; CSV, JSON Lines, HTML stay available by `Accept`).

`install` also takes reshapers: functions that rewrite the finished document,
such as the resolver's (one route, described as the three Digital Link levels).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth.dependencies import ROLE_CHECKS
from app.core.errors import PROBLEM_JSON, HttpError
from app.core.principal import Role
from app.core.ratelimit import LIMIT_CHECKS
from app.core.routing import PROBLEM_REF, problem_components, responses

KEY_ROLES = frozenset({Role.admin, Role.regulator, Role.partner, Role.enterprise})
SCHEME = "HTTPBearer"
NO_DATABASE = frozenset({"/healthz", "/metrics"})
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def operation_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[Role]]:
    """(path, method) -> the roles admitted, for operations guarded by `require(...)`."""
    found: dict[tuple[str, str], frozenset[Role]] = {}
    for context in iter_route_contexts(app.routes):  # included routers, flattened
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        checks = [ROLE_CHECKS[call] for call in _calls(route.dependant) if call in ROLE_CHECKS]
        if not checks:
            continue
        admitted = frozenset.intersection(*checks)
        for method in context.methods or ():
            found[(str(context.path_format), method.lower())] = admitted
    return found


def rate_limited(app: FastAPI) -> frozenset[tuple[str, str]]:
    """(path, method) of every operation behind a rate limit (whoever the caller)."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        # The effective dependant: it holds the dependencies given to include_router.
        dependant = getattr(context, "dependant", None) or route.dependant
        if any(call in LIMIT_CHECKS for call in _calls(dependant)):
            for method in context.methods or ():
                found.add((str(context.path_format), method.lower()))
    return frozenset(found)


def _problem(status: int) -> dict[str, Any]:
    try:
        return responses(status)[status]
    except KeyError:  # a status `routing.responses` has no words for
        generic = responses(422)[422]
        example = HttpError(status, "error").body()
        content = {PROBLEM_JSON: generic["content"][PROBLEM_JSON] | {"example": example}}
        return {"description": "Error", "content": content}


def _complete_problem(status: int, entry: dict[str, Any]) -> None:
    content = entry.setdefault("content", {})
    schema_ref = str(content.get("application/json", {}).get("schema", {}).get("$ref", ""))
    if status == 422 and schema_ref.endswith("/HTTPValidationError"):
        entry.clear()
        entry.update(_problem(422))
        return
    if not content:
        content[PROBLEM_JSON] = {}
    if PROBLEM_JSON in content:
        template = _problem(status)
        problem = content[PROBLEM_JSON]
        problem["schema"] = copy.deepcopy(PROBLEM_REF)
        if "example" not in problem and "examples" not in problem:
            problem["example"] = template["content"][PROBLEM_JSON]["example"]
        if status in (429, 503) and "headers" in template:
            entry.setdefault("headers", template["headers"])
        # First, as JSON is for a success: a generator reads the first media type
        # (the resolver's 404 page stays available to browsers).
        entry["content"] = {PROBLEM_JSON: problem} | content


def complete(
    document: dict[str, Any],
    roles: dict[tuple[str, str], frozenset[Role]],
    limited: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Add what every operation can answer (see the module docstring), in place."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            answers: dict[str, Any] = operation.setdefault("responses", {})
            security = operation.get("security", [])
            reads_key = any(SCHEME in requirement for requirement in security)
            admitted = roles.get((path, method))
            wanted: list[int] = []
            if reads_key:
                wanted.append(401)
            if admitted is not None:
                names = sorted(role.value for role in admitted)
                operation["x-roles"] = names
                note = "Roles: " + ", ".join(names) + "."
                described = operation.get("description", "")
                operation["description"] = f"{described}\n\n{note}".strip()
                if admitted != KEY_ROLES:
                    wanted.append(403)
            elif reads_key:
                operation["security"] = [{}, *security]  # public: a key is optional
                if path not in NO_DATABASE:
                    wanted.append(429)  # anonymous callers are rate limited
            if (path, method) in limited:
                # Anonymous callers are counted before their missing key is refused,
                # so a key-only operation can answer 429 too.
                wanted.append(429)
            if operation.get("parameters") or "requestBody" in operation:
                wanted.append(422)
            if path not in NO_DATABASE:
                wanted.append(503)
            for code in wanted:
                answers.setdefault(str(code), _problem(code))
            for status, entry in answers.items():
                if status.isdigit() and int(status) >= 400 and path != "/readyz":
                    _complete_problem(int(status), entry)
                elif status.startswith("2") and "content" in entry:
                    entry["content"] = _json_first(entry["content"])
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in problem_components().items():
        schemas.setdefault(name, schema)


def _json_first(content: dict[str, Any]) -> dict[str, Any]:
    if "application/json" not in content:
        return content
    return {"application/json": content["application/json"]} | content


Reshaper = Callable[[dict[str, Any]], None]


def install(app: FastAPI, *reshapers: Reshaper) -> None:
    """Serve the completed document at /openapi.json."""

    completed: list[int] = []

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)  # cached by FastAPI until the routes change
        if id(document) not in completed:
            complete(document, operation_roles(app), rate_limited(app))
            for reshape in reshapers:
                reshape(document)
            completed[:] = [id(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
