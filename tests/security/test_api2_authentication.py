"""API2:2023 Broken Authentication.

A revoked, unknown or malformed key, or a key sent with another scheme, is a
401 with a `Bearer` challenge on every operation that reads keys — public ones
included, so that a broken key is never silently treated as anonymous. Keys
are stored as SHA-256 hashes: the secret is in no table and no log line.
"""

from __future__ import annotations

import hashlib

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.apikeys import service as key_service
from app.auth import service
from app.auth.models import ApiKey
from app.core.principal import SYSTEM
from tests.factories import make_key
from tests.security.conftest import CommittedWorld
from tests.security.dataset import Dataset, fill_path
from tests.security.helpers import DocumentedOperation, operations

SECURED = [op for op in operations() if op.spec.get("security")]

MALFORMED = {
    "bearer without a key": "Bearer",
    "bearer with spaces": "Bearer    ",
    "unknown key": "Bearer qcr_" + "A" * 43,
    "truncated key": "Bearer qcr_abc",
    "basic scheme": "Basic dXNlcjpwYXNzd29yZA==",
    "token scheme": "Token qcr_abc",
    "no scheme": "qcr_abc",
    "two keys": "Bearer qcr_a qcr_b",
    "very long": "Bearer " + "x" * 8000,
}


# These tests read, or are refused: they share one committed world per module.
@pytest.fixture(name="world")
def _world(shared_world: Dataset) -> Dataset:
    return shared_world


@pytest.fixture(name="client")
def _client(shared_client: AsyncClient) -> AsyncClient:
    return shared_client


async def _revoked(session: AsyncSession, role: str, uscc: str | None = None) -> dict[str, str]:
    headers = await make_key(session, role, uscc)
    secret = headers["Authorization"].removeprefix("Bearer ")
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == service.hash_secret(secret)))
    assert key is not None
    await key_service.revoke_key(session, SYSTEM, key.id)
    await session.commit()
    return headers


def _assert_401(response: object, where: str) -> None:
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", {})
    assert status == 401, f"{where}: {status}"
    assert headers["www-authenticate"].startswith("Bearer"), where
    assert headers["content-type"] == "application/problem+json", where


@pytest.fixture(scope="module")
async def revoked(committed_world: CommittedWorld) -> dict[str, str]:
    async with AsyncSession(committed_world.engine, expire_on_commit=False) as session:
        return await _revoked(session, "regulator")


@pytest.mark.parametrize("op", [pytest.param(op, id=op.key) for op in SECURED])
async def test_a_revoked_key_is_401_on_every_operation(
    client: AsyncClient, world: Dataset, revoked: dict[str, str], op: DocumentedOperation
) -> None:
    path = fill_path(op.path, world)
    response = await client.request(op.method, path, json={} if op.is_write else None,
                                    headers=revoked)  # fmt: skip
    _assert_401(response, op.key)


@pytest.mark.parametrize("role", ["admin", "regulator", "partner", "enterprise"])
async def test_a_revoked_key_of_any_role_is_401(
    client: AsyncClient, committed_world: CommittedWorld, world: Dataset, role: str
) -> None:
    async with AsyncSession(committed_world.engine, expire_on_commit=False) as session:
        uscc = world.a.uscc if role == "enterprise" else None
        headers = await _revoked(session, role, uscc)
    _assert_401(await client.get(f"/v1/organizations/{world.a.uscc}", headers=headers), role)


async def test_non_ascii_bytes_in_the_header_are_401(client: AsyncClient) -> None:
    response = await client.get("/v1/audit", headers={b"Authorization": b"Bearer qcr_\xe9\xe8"})
    _assert_401(response, "latin-1 bytes")


@pytest.mark.parametrize("header", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_key_is_401_on_public_and_private_operations(
    client: AsyncClient, world: Dataset, header: str
) -> None:
    headers = {"Authorization": header}
    for path in (f"/v1/organizations/{world.a.uscc}", "/v1/audit", "/v1/changes"):
        _assert_401(await client.get(path, headers=headers), f"{path} with {header[:20]!r}")


async def test_a_valid_secret_under_another_scheme_is_401(
    client: AsyncClient, world: Dataset
) -> None:
    secret = world.headers["regulator"]["Authorization"].removeprefix("Bearer ")
    for header in (f"Basic {secret}", f"Token {secret}", secret, f"Bearer  {secret}x"):
        _assert_401(await client.get("/v1/audit", headers={"Authorization": header}), header[:6])
    # The scheme itself is case-insensitive (RFC 9110 §11.1).
    ok = await client.get("/v1/audit", headers={"Authorization": f"bearer {secret}"})
    assert ok.status_code == 200


async def test_keys_are_stored_hashed_and_the_secret_is_nowhere(
    client: AsyncClient, session: AsyncSession, world: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = world.headers["regulator"]["Authorization"].removeprefix("Bearer ")
    await client.get("/v1/audit", headers=world.headers["regulator"])
    await client.put(
        f"/v1/organizations/{world.a.uscc}",
        json={"name": "改名"},
        headers=world.headers["regulator"],
    )
    stored = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hashlib.sha256(secret.encode()).hexdigest())
    )
    assert stored is not None
    assert stored.prefix == secret[:12] and len(stored.prefix) < len(secret) // 3
    tables = (
        await session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
    ).all()
    for table in tables:  # every row of every table, as text
        found = await session.scalar(
            text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :s'),
            {"s": f"%{secret[12:]}%"},
        )
        assert found == 0, f"the key's secret is stored in {table}"
    assert secret[12:] not in capsys.readouterr().out
