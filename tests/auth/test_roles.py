"""API keys: 401 without or with a bad key, 403 outside the role, revocation."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.apikeys import service as key_service
from app.auth import service
from app.auth.models import ApiKey
from app.core.errors import Unprocessable
from app.core.principal import SYSTEM, Role
from tests.factories import make_key, make_organization

USCC = "91310115MA1K3BTP2B"
BODY = {"name": "上海测试有限公司"}


async def test_no_key_is_401(client: AsyncClient) -> None:
    response = await client.put(f"/v1/organizations/{USCC}", json=BODY)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header", ["Bearer qcr_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer", "qcr_xyz"]
)
async def test_malformed_or_unknown_key_is_401(client: AsyncClient, header: str) -> None:
    response = await client.get(f"/v1/organizations/{USCC}", headers={"Authorization": header})
    assert response.status_code == 401


async def test_revoked_key_is_401(client: AsyncClient, session: AsyncSession) -> None:
    headers = await make_key(session, "regulator")
    assert (
        await client.put(f"/v1/organizations/{USCC}", json=BODY, headers=headers)
    ).status_code == 201
    secret = headers["Authorization"].removeprefix("Bearer ")
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == service.hash_secret(secret)))
    assert key is not None
    await key_service.revoke_key(session, SYSTEM, key.id)
    await session.commit()
    response = await client.put(f"/v1/organizations/{USCC}", json=BODY, headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("regulator", 201), ("partner", 403)])
async def test_writing_an_organization_by_role(
    client: AsyncClient, session: AsyncSession, role: str, status: int
) -> None:
    headers = await make_key(session, role)
    response = await client.put(f"/v1/organizations/{USCC}", json=BODY, headers=headers)
    assert response.status_code == status


async def test_enterprise_key_cannot_write_organizations_even_its_own(
    client: AsyncClient, session: AsyncSession
) -> None:
    await make_organization(session, uscc=USCC)
    headers = await make_key(session, "enterprise", USCC)
    response = await client.put(f"/v1/organizations/{USCC}", json=BODY, headers=headers)
    assert response.status_code == 403


async def test_audit_trail_is_for_regulators(client: AsyncClient, session: AsyncSession) -> None:
    assert (await client.get("/v1/audit")).status_code == 401
    for role in ("partner",):
        assert (
            await client.get("/v1/audit", headers=await make_key(session, role))
        ).status_code == 403
    other = await make_organization(session)
    enterprise = await make_key(session, "enterprise", other)
    assert (await client.get("/v1/audit", headers=enterprise)).status_code == 403
    response = await client.get("/v1/audit", headers=await make_key(session, "regulator"))
    assert response.status_code == 200
    assert response.json()["items"][0]["action"] == "apikey.create"


async def test_keys_are_stored_hashed(session: AsyncSession) -> None:
    created = await key_service.create_key(
        session, SYSTEM, name="bank", role=Role.partner, uscc=None
    )
    stored = await session.get(ApiKey, created.key.id)
    assert stored is not None
    assert created.secret not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == service.hash_secret(created.secret)


async def test_enterprise_key_needs_a_uscc(session: AsyncSession) -> None:
    with pytest.raises(Unprocessable):
        await key_service.create_key(session, SYSTEM, name="x", role=Role.enterprise, uscc=None)
    with pytest.raises(Unprocessable):
        await key_service.create_key(session, SYSTEM, name="x", role=Role.partner, uscc=USCC)


async def test_audit_cursor_must_be_one_it_issued(
    client: AsyncClient, session: AsyncSession
) -> None:
    import base64

    headers = await make_key(session, "regulator")
    for key in (b'["abc"]', b"[-1]", b"[1.5]", b"[true]"):
        cursor = base64.urlsafe_b64encode(key).decode().rstrip("=")
        response = await client.get("/v1/audit", params={"cursor": cursor}, headers=headers)
        assert response.status_code == 422, key
        assert response.json()["errors"][0]["field"] == "cursor"
