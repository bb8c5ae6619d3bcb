"""API8:2023 Security Misconfiguration.

- Security headers on every page and every API answer, errors included: a
  Content-Security-Policy that allows no script at all (so no inline script),
  `X-Content-Type-Options: nosniff`, a `Referrer-Policy`, no framing; and the
  pages carry no inline script, event handler or `javascript:` URL.
- `X-Forwarded-For` is believed only from `QCR_TRUSTED_PROXIES`: a client cannot
  pose as many clients (reset its rate limit, make a genuine item code look
  cloned) nor as another one.
- No raw client address in any log line or stored row.
- The service's database role can only INSERT and SELECT audit rows, owns no
  table, cannot create any, and is no superuser: even a compromised service
  cannot rewrite the audit chain or disable its triggers (SPEC §7).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import Request

from app.core.ratelimit import client_id
from app.core.settings import Settings
from tests.security.conftest import UNLIMITED, CommittedWorld
from tests.security.dataset import Dataset, fill_path
from tests.security.helpers import operations
from tests.security.test_hostile_input import html_pages

PEER = "198.51.100.23"  # the socket peer of the test clients below
CLAIMED = "203.0.113.77"  # what they claim in X-Forwarded-For
SERVICE_ROLES = ("qcr_app", "qcr_service")


def _csp_directives(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def _assert_security_headers(headers: object, where: str) -> None:
    get = getattr(headers, "get")  # noqa: B009 - httpx.Headers, case-insensitive
    csp = _csp_directives(get("content-security-policy", ""))
    script = csp.get("script-src", csp.get("default-src", ""))
    assert script in ("'none'", "'self'"), f"{where}: script-src {script!r}"
    assert "unsafe-inline" not in get("content-security-policy", ""), where
    assert csp.get("frame-ancestors") == "'none'", where
    assert get("x-content-type-options") == "nosniff", where
    assert get("referrer-policy") in ("no-referrer", "same-origin", "strict-origin"), where
    assert get("x-frame-options") == "DENY", where


@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


async def test_every_page_has_the_security_headers_and_no_script(
    client: AsyncClient, committed_world: CommittedWorld, world: Dataset
) -> None:
    checked = 0
    for template in html_pages(committed_world.app):
        response = await client.get(fill_path(template, world), headers={"Accept": "text/html"})
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        checked += 1
        _assert_security_headers(response.headers, template)
        page = response.text.lower()
        assert "<script" not in page, template
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page), template
        assert "javascript:" not in page, template
    not_found = await client.get("/01/06901234567890", headers={"Accept": "text/html"})
    _assert_security_headers(not_found.headers, "a forged code's page")
    assert checked


async def test_every_api_answer_has_the_security_headers(
    client: AsyncClient, world: Dataset
) -> None:
    for op in operations():
        if op.method != "GET":
            continue
        response = await client.get(fill_path(op.path, world), headers=world.headers["partner"])
        _assert_security_headers(response.headers, op.key)
    for path in ("/nowhere", "/v1/organizations/bad"):  # 404 and 422 too
        _assert_security_headers((await client.get(path)).headers, path)


# --- X-Forwarded-For -----------------------------------------------------------------------


def _request(app: FastAPI, peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 1234), "app": app})


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ("", PEER, [CLAIMED], PEER),  # no proxy is trusted: the header is ignored
        ("10.0.0.1", PEER, [CLAIMED], PEER),  # the peer is not a trusted proxy
        (PEER, PEER, [CLAIMED], CLAIMED),  # from the trusted proxy: believed
        (PEER, PEER, [f"1.2.3.4, {CLAIMED}"], CLAIMED),  # what the client wrote is not
        (f"{PEER},10.0.0.0/8", PEER, [f"1.2.3.4, {CLAIMED}, 10.1.1.1"], CLAIMED),
        (PEER, PEER, ["not an address"], "not an address"),
        (PEER, PEER, [], PEER),
    ],
)
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    test_settings: Settings, trusted: str, peer: str, forwarded: list[str], expected: str
) -> None:
    app = FastAPI()
    app.state.settings = test_settings.model_copy(update={"trusted_proxies": trusted})
    assert client_id(_request(app, peer, forwarded)) == expected


@pytest.fixture
async def peer_client(committed_world: CommittedWorld) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=committed_world.app, client=(PEER, 4567))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _trust(app: FastAPI, proxies: str, **rates: str) -> Settings:
    saved: Settings = app.state.settings
    app.state.settings = saved.model_copy(update={"trusted_proxies": proxies} | rates)
    app.state.rate_limiter = None
    return saved


async def test_a_client_cannot_pose_as_many_clients(
    peer_client: AsyncClient, committed_world: CommittedWorld, world: Dataset
) -> None:
    """Spoofed addresses neither reset the rate limit nor make a code look cloned."""
    assert world.b.product is not None, "the seed made no product: it must fail, not skip"
    app, url = committed_world.app, f"/01/{world.b.product.code}"
    saved = _trust(app, "", rate_limit_resolver="3/minute")
    try:
        spoofed = [
            (await peer_client.get(url, headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code
            for i in range(4)
        ]
        assert spoofed == [200, 200, 200, 429], spoofed
        _trust(app, "", rate_limit_resolver=UNLIMITED["rate_limit_resolver"])  # no proxy trusted
        for i in range(8):
            scan = await peer_client.get(
                url, headers={"Accept": "application/json", "X-Forwarded-For": f"192.0.2.{i}"}
            )
        assert scan.json()["item"]["suspicious"] is False, scan.json()["item"]
        _trust(app, PEER, rate_limit_resolver="3/minute")
        believed = [
            (await peer_client.get(url, headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code
            for i in range(10, 14)
        ]
        assert believed == [200, 200, 200, 200], believed
        # Behind a trusted proxy, eight addresses are eight clients.
        _trust(app, PEER, rate_limit_resolver=UNLIMITED["rate_limit_resolver"])
        for i in range(20, 28):
            scan = await peer_client.get(
                url, headers={"Accept": "application/json", "X-Forwarded-For": f"192.0.2.{i}"}
            )
        assert scan.json()["item"]["suspicious"] is True, scan.json()["item"]
    finally:
        app.state.settings = saved
        app.state.rate_limiter = None


async def test_no_client_address_in_any_log_line_or_row(
    peer_client: AsyncClient,
    committed_world: CommittedWorld,
    world: Dataset,
    session: AsyncSession,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = committed_world.app
    caplog.set_level(logging.DEBUG)
    for trusted in ("", PEER):
        saved = _trust(app, trusted)
        try:
            forwarded = {"X-Forwarded-For": CLAIMED, "Accept": "application/json"}
            paths = [f"/v1/organizations/{world.a.uscc}", "/nowhere", "/v1/organizations/x"]
            if world.a.product is not None:
                paths.append(f"/01/{world.a.product.code}")
                await peer_client.post(
                    f"/01/{world.a.product.code}/feedback",
                    json={"rating": 3, "comment": "日志测试"},
                    headers=forwarded,
                )
            for path in paths:
                await peer_client.get(path, headers=forwarded)
            await peer_client.get("/v1/audit", headers=forwarded | {"Authorization": "Bearer x"})
        finally:
            app.state.settings = saved
            app.state.rate_limiter = None
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "request_completed" in logged  # the log was captured at all
    for address in (PEER, CLAIMED):
        assert address not in logged, f"{address} in a log line"
    tables = (
        await session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    ).all()
    for table in tables:
        for address in (PEER, CLAIMED):
            stored = await session.scalar(
                text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :a'),
                {"a": f"%{address}%"},
            )
            assert stored == 0, f"{address} stored in {table}"


# --- the service's database role -----------------------------------------------------------


async def test_the_service_role_owns_nothing_and_only_appends_audit_rows(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as conn:
        owned = (
            await conn.execute(
                text(
                    "SELECT c.relname, c.relkind FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = ANY(:r)"
                ),
                {"r": list(SERVICE_ROLES)},
            )
        ).all()
        assert owned == [], f"owned by the service role: {owned}"
        functions = await conn.scalar(
            text("SELECT count(*) FROM pg_proc WHERE pg_get_userbyid(proowner) = ANY(:r)"),
            {"r": list(SERVICE_ROLES)},
        )
        assert functions == 0
        schema_owner = await conn.scalar(
            text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
        )
        assert schema_owner not in SERVICE_ROLES
        may = {
            privilege: await conn.scalar(
                text("SELECT has_table_privilege('qcr_app', 'audit_entries', :p)"),
                {"p": privilege},
            )
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
        }
        assert may == {
            "SELECT": True,
            "INSERT": True,
            "UPDATE": False,
            "DELETE": False,
            "TRUNCATE": False,
            "TRIGGER": False,
        }
        create = await conn.scalar(
            text("SELECT has_schema_privilege('qcr_app', 'public', 'CREATE')")
        )
        assert create is False
        role = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                    "FROM pg_roles WHERE rolname = 'qcr_app'"
                )
            )
        ).one()
        assert tuple(role) == (False, False, False, False, False)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'rewritten'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
        "DROP TABLE audit_entries",
        "SET session_replication_role = replica",
        "CREATE TABLE evil (id int)",
    ],
)
async def test_the_service_connection_cannot_touch_the_audit_chain(
    engine: AsyncEngine, statement: str
) -> None:
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT current_user")) == "qcr_app"
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text(statement))
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)
        await conn.rollback()
