"""Enterprise isolation on every callable operation, walked from the app's routes
(documented or not, pages included), so a route added later is covered.

An enterprise key bound to organization A calls every operation with B's
objects in the path (B's code, B's records, B's product, batch and item) and,
for a body, B's USCC. Whatever the operation:

- a write the public may not make is refused (403 or 404) and changes nothing
  (every table compared row by row);
- an answer never holds B's private values (legal representative, internal
  descriptions, a complainant's contact) nor a private field;
- where the public may read it too, A's key sees exactly what the public sees:
  a key bound to A is no privilege over B.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient, Response

from app.core.settings import Settings
from app.main import create_app
from tests.security.bodies import VALID_BODIES
from tests.security.conftest import CommittedWorld
from tests.security.dataset import PRIVATE_FIELDS, Dataset, fill_path
from tests.snapshot import changed_tables, snapshot

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What a read counts or stamps: a scan of an item is counted whoever scans it.
VOLATILE = frozenset(
    {"scan_count", "distinct_clients", "first_scanned_at", "suspicious", "request_id"}
)
B_SECRETS = ("法人秘密乙", "内部案情秘密乙", "contact-secret@example.com")
SKIP_PATHS = ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/static")


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings(QCR_CODE_SECRET="document-only-secret-0123"))
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path_format)
        if not isinstance(route, APIRoute) or path.startswith(SKIP_PATHS):
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return sorted(found)


ROUTES = _routes()


def _as_b(world: Dataset) -> Dataset:
    return Dataset(world.b, world.a, world.headers, world.enterprise_b, world.publications)


def _private_keys(value: Any, own_uscc: str) -> set[str]:
    """Private fields anywhere in `value`, except in objects of the key's own
    organization (a list may hold A's own records, privileged view and all)."""
    if isinstance(value, dict):
        if value.get("uscc") == own_uscc:
            return set()
        found = set(value) & PRIVATE_FIELDS
        return found | {k for v in value.values() for k in _private_keys(v, own_uscc)}
    if isinstance(value, list):
        return {k for v in value for k in _private_keys(v, own_uscc)}
    return set()


def _stable(value: Any, own_uscc: str) -> Any:
    """`value` without what a read counts, and without the key's own organization's
    objects in lists (those it may see privileged)."""
    if isinstance(value, dict):
        return {k: _stable(v, own_uscc) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [
            _stable(v, own_uscc)
            for v in value
            if not (isinstance(v, dict) and v.get("uscc") == own_uscc)
        ]
    return value


def _body(method: str, path: str, world: Dataset) -> dict[str, Any] | None:
    if method not in WRITES:
        return None
    key = f"{method} {path}"
    body = VALID_BODIES[key](_as_b(world)) if key in VALID_BODIES else {}
    if "uscc" in body:
        body["uscc"] = world.b.uscc
    if "violation_id" in body:
        body["violation_id"] = world.b.violation_id
    return body


def _is_json(response: Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def test_the_walk_covers_the_operations_of_the_document() -> None:
    from tests.security.helpers import operations

    walked = {f"{m} {p}" for m, p in ROUTES}
    # The resolver is one served route, described as the three Digital Link levels
    # and their feedback posts (app/codes/described.py).
    documented = {
        f"{op.method} /01/{{code}}" if op.path.startswith("/01/") else op.key
        for op in operations()
        if op.method != "HEAD"
    }
    assert documented <= walked, sorted(documented - walked)
    assert len(walked) > 40


@pytest.mark.parametrize(("method", "path"), [pytest.param(m, p, id=f"{m} {p}") for m, p in ROUTES])
async def test_an_enterprise_key_of_a_gets_nothing_of_b_the_public_does_not(
    committed_world: CommittedWorld, method: str, path: str
) -> None:
    world, client = committed_world.dataset, committed_world.client
    url = fill_path(path, _as_b(world))
    body = _body(method, path, world)
    own = world.headers["enterprise"] | {"Accept": "application/json"}
    async with committed_world.engine.connect() as observer:
        before = await snapshot(observer)
        await observer.commit()
        as_a = await _send(client, method, url, body, own)
        after = await snapshot(observer)
    where = f"{method} {path} as A's enterprise key"
    assert as_a.status_code < 500, f"{where}: {as_a.status_code} {as_a.text[:300]}"
    for secret in B_SECRETS:
        assert secret not in as_a.text, f"{where}: B's private value {secret!r} shown"
    if _is_json(as_a):
        private = _private_keys(as_a.json(), world.a.uscc)
        assert not private, f"{where}: private fields {private}"
    if method in WRITES:
        anonymous = await _probe_anonymous(client, method, url, body)
        if anonymous in (401, 403):  # not a public write: A's key may not make it for B
            assert as_a.status_code in (403, 404), f"{where}: {as_a.status_code} {as_a.text}"
            changed = changed_tables(before, after)
            assert not changed, f"{where}: refused, yet changed {changed}"
        return
    public = await _send(client, method, url, None, {"Accept": "application/json"})
    if public.status_code == 200 and as_a.status_code == 200 and _is_json(as_a):
        seen, shown = _stable(as_a.json(), world.a.uscc), _stable(public.json(), world.a.uscc)
        assert seen == shown, f"{where}: not the public view"
    elif public.status_code == 200:
        assert as_a.status_code in (200, 403, 404), where


async def _send(
    client: AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> Response:
    if body is None:
        return await client.request(method, url, headers=headers)
    return await client.request(method, url, json=body, headers=headers)


async def _probe_anonymous(
    client: AsyncClient, method: str, url: str, body: dict[str, Any] | None
) -> int:
    """Whether the public may make this write at all: the status of an anonymous
    attempt with a body that cannot pass validation (so nothing is written)."""
    response = await client.request(
        method, url, json={"__not_a_field__": True}, headers={"Accept": "application/json"}
    )
    return response.status_code
