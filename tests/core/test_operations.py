"""Health, readiness, metrics, request ids, problem details, logs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url

from app.core.database import Database, make_engine
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import DatabaseUnderTest
from tests.factories import make_organization

USCC = "91110000600037341L"


async def test_healthz_and_readyz(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


async def test_readyz_is_503_when_the_database_is_unreachable(test_settings: Settings) -> None:
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", test_settings)
    app: FastAPI = create_app(test_settings, database=Database(engine))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        # A data endpoint answers 503 problem+json, never 500.
        data = await client.get(f"/v1/organizations/{USCC}")
        assert data.status_code == 503
        assert data.headers["content-type"] == "application/problem+json"
        assert data.headers["retry-after"]
    await engine.dispose()


async def test_readyz_is_503_when_the_schema_is_behind(
    test_settings: Settings, test_database: DatabaseUnderTest
) -> None:
    # The server's `postgres` database has never been migrated.
    url = make_url(test_database.owner_url).set(database="postgres")
    engine = make_engine(url.render_as_string(hide_password=False), test_settings)
    app = create_app(test_settings, database=Database(engine))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    await engine.dispose()
    assert response.status_code == 503
    assert "head is" in response.json()["reason"]


async def test_request_id_is_echoed_or_made(client: AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert len(made.headers["x-request-id"]) == 32


async def test_metrics_count_requests_by_route_template(client: AsyncClient) -> None:
    await client.get("/v1/organizations/91110000600037341L")
    text = (await client.get("/metrics")).text
    assert 'route="/v1/organizations/{code}"' in text
    assert "91110000600037341L" not in text
    assert "qcr_db_pool_checked_out" in text


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nowhere", 404), ("DELETE", "/healthz", 405)]
)
async def test_framework_errors_are_problem_json(
    client: AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_logs_hold_no_private_data_nor_raw_path(
    client: AsyncClient,
    session: object,
    regulator: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await client.put(
        f"/v1/organizations/{USCC}",
        json={"name": "甲公司", "legal_representative": "秘密人"},
        headers=regulator,
    )
    await client.get(f"/v1/organizations/{USCC}", headers={"X-Forwarded-For": "203.0.113.9"})
    out = capsys.readouterr().out
    assert "request_completed" in out
    assert "秘密人" not in out
    assert USCC not in out
    assert "203.0.113.9" not in out
    assert "127.0.0.1" not in out


async def test_openapi_documents_problem_responses(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/organizations/{code}"]["get"]
    assert "application/problem+json" in operation["responses"]["422"]["content"]
    assert "example" in operation["responses"]["422"]["content"]["application/problem+json"]
    put = spec["paths"]["/v1/organizations/{code}"]["put"]
    assert {"401", "403", "422"} <= set(put["responses"])


async def test_organization_factory_runs(session: object) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    assert len(await make_organization(session)) == 18


async def test_anonymous_public_views_are_rate_limited(
    test_settings: Settings, engine: object, session: object, regulator: dict[str, str]
) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from app.core.database import get_session

    assert isinstance(engine, AsyncEngine) and isinstance(session, AsyncSession)
    settings = test_settings.model_copy(update={"rate_limit_public": "3/minute"})
    app = create_app(settings, database=Database(engine))

    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = same_session
    uscc = await make_organization(session)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        statuses = [
            (await client.get(f"/v1/organizations/{uscc}/credit")).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await client.get(f"/v1/organizations/{uscc}")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        # A key is not limited.
        assert (await client.get(f"/v1/organizations/{uscc}", headers=regulator)).status_code == 200
    spec = app.openapi()
    assert "429" in spec["paths"]["/v1/organizations/{code}/credit"]["get"]["responses"]


async def test_metrics_can_require_the_scrapers_key(app: FastAPI, client: AsyncClient) -> None:
    """Issue #13 item 9: /metrics was public whatever the deployment wanted."""
    app.state.settings = app.state.settings.model_copy(update={"metrics_key": "scrape-0123456789"})
    refused = await client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-0123456789"})
    assert scraped.status_code == 200 and "qcr_db_pool_size" in scraped.text


def test_the_access_line_is_what_structlog_renders(capsys: pytest.CaptureFixture[str]) -> None:
    """`logging.access` writes the request line without structlog's processors: the
    same keys in the same order, the same values and timestamp format."""
    import json
    import re

    import structlog

    from app.core import logging as app_logging

    app_logging.configure(json=True)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="r1")
    fields = {"method": "GET", "route": "/01/{code:path}", "status": 200, "duration_ms": 1.5}
    structlog.get_logger("qcr.request").info("request_completed", **fields)
    app_logging.access("r1", "GET", "/01/{code:path}", 200, 1.5)
    structlog.contextvars.clear_contextvars()
    by_structlog, by_access = capsys.readouterr().out.splitlines()
    a, b = json.loads(by_structlog), json.loads(by_access)
    assert list(a) == list(b)
    assert {k: v for k, v in a.items() if k != "timestamp"} == {
        k: v for k, v in b.items() if k != "timestamp"
    }
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    assert re.fullmatch(stamp, a["timestamp"]) and re.fullmatch(stamp, b["timestamp"])
