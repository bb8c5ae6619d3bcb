"""A revoked key is refused from the next request on, on the regular routes, for
reads as well as writes and whatever the route answers to anonymous callers (a
public read with a revoked key is 401, not a silent downgrade to anonymous)."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.apikeys import service as apikeys_service
from app.auth import service as auth_service
from app.auth.models import ApiKey
from app.core.principal import SYSTEM
from tests.factories import committed_key, committed_organization


async def revoke_committed(engine: AsyncEngine, headers: dict[str, str]) -> None:
    """Revoke the key behind `headers`, committed (as `qcr apikey revoke` does)."""
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with AsyncSession(engine, expire_on_commit=False) as session:
        key = await session.scalar(
            select(ApiKey).where(ApiKey.key_hash == auth_service.hash_secret(secret))
        )
        assert key is not None, "no such key"
        await apikeys_service.revoke_key(session, SYSTEM, key.id)
        await session.commit()


async def test_a_key_that_worked_is_401_once_revoked(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    uscc = await committed_organization(engine)
    partner = await committed_key(engine, "partner")
    reads = [
        ("GET", f"/v1/organizations/{uscc}/credit", None),  # public, fields differ by key
        ("GET", f"/v1/organizations/{uscc}", None),
        ("GET", "/v1/changes", None),  # partners only
        ("POST", "/v1/credit/batch", {"codes": [uscc]}),
    ]
    for method, path, body in reads:
        worked = await committed_client.request(method, path, json=body, headers=partner)
        assert worked.status_code == 200, (path, worked.text)
    await revoke_committed(engine, partner)
    for method, path, body in reads:
        refused = await committed_client.request(method, path, json=body, headers=partner)
        assert refused.status_code == 401, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "revoked" in refused.json()["detail"]
