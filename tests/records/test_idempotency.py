"""Idempotency-Key: same body replays, another body is 422, concurrent requests create one."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.records.models import Violation
from tests.factories import committed_key, committed_organization, make_key, make_organization
from tests.records.helpers import violation


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Violation)) or 0


async def test_repeat_with_same_key_and_body_returns_the_first_response(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    body = violation()
    headers = regulator | {"Idempotency-Key": "retry-1"}
    first = await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=headers)
    again = await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(session) == 1


async def test_same_key_with_another_body_is_422(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    headers = regulator | {"Idempotency-Key": "retry-2"}
    await client.post(f"/v1/organizations/{uscc}/violations", json=violation(), headers=headers)
    other = await client.post(
        f"/v1/organizations/{uscc}/violations", json=violation(), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _count(session) == 1


async def test_keys_are_scoped_per_api_key(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    other_regulator = await make_key(session, "regulator")
    body = violation()
    first = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=body,
        headers=regulator | {"Idempotency-Key": "shared"},
    )
    assert first.status_code == 201
    # Another key's "shared" is another request: it really runs (and finds the duplicate case).
    second = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=body,
        headers=other_regulator | {"Idempotency-Key": "shared"},
    )
    assert second.status_code == 409


async def test_json_key_order_does_not_matter(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    import json

    uscc = await make_organization(session)
    body = violation()
    headers = regulator | {"Idempotency-Key": "order", "content-type": "application/json"}
    first = await client.post(
        f"/v1/organizations/{uscc}/violations", content=json.dumps(body), headers=headers
    )
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = await client.post(
        f"/v1/organizations/{uscc}/violations", content=reordered, headers=headers
    )
    assert again.content == first.content


async def test_concurrent_requests_with_one_key_create_one_record(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    uscc = await committed_organization(engine)
    headers = await committed_key(engine, "regulator") | {"Idempotency-Key": "concurrent"}
    body = violation()
    responses = await asyncio.gather(
        *(
            committed_client.post(
                f"/v1/organizations/{uscc}/violations", json=body, headers=headers
            )
            for _ in range(5)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    async with AsyncSession(engine) as session:
        assert await _count(session) == 1
