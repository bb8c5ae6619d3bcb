"""Every server error and undocumented answer the fuzzing and the hostile-input table
found, kept as a test of its own (each names what it used to answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request

from app.core import errors
from app.core.bodylimit import MAX_BODY_BYTES
from tests.security.dataset import Dataset


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_nul_in_a_json_string_is_422_naming_the_field(
    client: AsyncClient, world: Dataset
) -> None:
    """Was 500: PostgreSQL refuses NUL in text, and the insert failed as a driver error."""
    url = f"/v1/organizations/{world.a.uscc}"
    before = (await client.get(url, headers=world.headers["regulator"])).json()
    response = await client.put(
        url, json={"name": "甲\x00公司"}, headers=world.headers["regulator"]
    )
    assert _problem(response, 422)["errors"][0]["field"] == "name"
    after = (await client.get(url, headers=world.headers["regulator"])).json()
    assert after == before


async def test_nul_in_a_nested_json_string_names_its_path(
    client: AsyncClient, world: Dataset
) -> None:
    """Was 500 for any text that reached a query (here: a code of a batch)."""
    response = await client.post(
        "/v1/credit/batch",
        json={"codes": [world.a.uscc, "91\x00"]},
        headers=world.headers["partner"],
    )
    assert _problem(response, 422)["errors"][0]["field"] == "codes[1]"


async def test_nul_in_a_query_parameter_is_422(client: AsyncClient, world: Dataset) -> None:
    """Was 500: the name search and the audit filter sent the NUL to PostgreSQL."""
    regulator = world.headers["regulator"]
    search = await client.get("/v1/organizations", params={"q": "甲\x00"}, headers=regulator)
    assert _problem(search, 422)["errors"][0]["field"] == "q"
    audit = await client.get("/v1/audit", params={"entity": "\x00"}, headers=regulator)
    assert _problem(audit, 422)["errors"][0]["field"] == "entity"


async def test_nul_in_the_path_is_422(client: AsyncClient) -> None:
    response = await client.get("/v1/organizations/9111%00")
    assert _problem(response, 422)["errors"][0]["field"] == "path"


async def test_json_that_is_not_utf8_is_422_not_400(client: AsyncClient, world: Dataset) -> None:
    """Was an undocumented 400 "There was an error parsing the body" (found by schemathesis)."""
    response = await client.put(
        f"/v1/organizations/{world.a.uscc}",
        content=b'{"name": "\xff\xfe"}',
        headers=world.headers["regulator"] | {"Content-Type": "application/json"},
    )
    assert _problem(response, 422)["errors"][0]["field"] == "body"


async def test_json_nested_100000_deep_is_422_not_400(client: AsyncClient, world: Dataset) -> None:
    """Was an undocumented 400 (the parser's RecursionError)."""
    response = await client.post(
        "/v1/credit/batch",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers=world.headers["partner"] | {"Content-Type": "application/json"},
    )
    _problem(response, 422)


async def _chunks(size: int) -> AsyncIterator[bytes]:
    yield b'{"codes": ["'
    for _ in range(size // 65536 + 1):
        yield b"9" * 65536
    yield b'"]}'


async def test_a_body_without_length_is_bounded_while_it_arrives(
    client: AsyncClient, world: Dataset
) -> None:
    """There was no bound on bodies besides the CSV import's own."""
    response = await client.post(
        "/v1/credit/batch",
        content=_chunks(MAX_BODY_BYTES + 1),
        headers=world.headers["partner"] | {"Content-Type": "application/json"},
    )
    assert f"{MAX_BODY_BYTES} bytes" in _problem(response, 422)["detail"]


async def test_a_long_content_length_is_refused_before_reading(
    client: AsyncClient, world: Dataset
) -> None:
    response = await client.put(
        f"/v1/organizations/{world.a.uscc}",
        content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers=world.headers["regulator"] | {"Content-Type": "application/json"},
    )
    assert _problem(response, 422)["errors"] == [
        {
            "field": "body",
            "message": f"the request body exceeds the bound of {MAX_BODY_BYTES} bytes (6 MiB)",
        }
    ]


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "app": None})


async def test_a_data_exception_from_the_database_is_422_not_500() -> None:
    """Defence in depth behind the validators: SQLSTATE class 22 means the input."""
    orig = SimpleNamespace(sqlstate="22003")
    exc = DBAPIError("INSERT …", {}, orig, connection_invalidated=False)  # type: ignore[arg-type]
    response = await errors._database_error(_request(), exc)
    assert response.status_code == 422


async def test_an_exhausted_pool_is_503_not_500() -> None:
    """`sqlalchemy.exc.TimeoutError` (no connection within pool_timeout) is neither a
    DBAPIError nor the builtin TimeoutError, so it used to reach the 500 handler."""
    response = await errors._database_error(_request(), PoolTimeout("QueuePool limit"))
    assert response.status_code == 503
    assert response.headers["retry-after"]


async def test_a_malformed_key_on_a_public_operation_is_documented(
    client: AsyncClient, app: FastAPI, world: Dataset
) -> None:
    """Was an undocumented 401 on the resolver (found by schemathesis): every operation
    that reads a key documents 401, public or not."""
    assert world.a.product is not None
    response = await client.get(f"/01/{world.a.product.code}", headers={"Authorization": "Bearer"})
    _problem(response, 401)
    document = app.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):
                assert "401" in operation["responses"], f"{method.upper()} {path}"


RAW_DRIVER_ERRORS = [
    (asyncpg.exceptions.AdminShutdownError("terminating connection"), 503),
    (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), 503),
    (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), 503),
    (asyncpg.exceptions.TooManyConnectionsError("too many clients already"), 503),
    (asyncpg.InterfaceError("connection is closed"), 503),
    (asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"), 422),
    (asyncpg.exceptions.UniqueViolationError("duplicate key"), 500),
]


@pytest.mark.parametrize(
    ("error", "status"), RAW_DRIVER_ERRORS, ids=[type(e).__name__ for e, _ in RAW_DRIVER_ERRORS]
)
async def test_raw_driver_errors_of_the_hot_paths_are_problems(
    error: Exception, status: int
) -> None:
    """Were plain-text 500s: the hot paths query the asyncpg connection directly, and its
    errors (a restart terminating a session mid-query) are not SQLAlchemy's."""
    app = FastAPI()
    errors.install(app)

    @app.get("/hot")
    async def hot() -> None:
        raise error

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/hot")
    _problem(response, status)
    if status == 503:
        assert response.headers["retry-after"] == "2"
