"""Idempotency-Key: same body replays, another body is 422, concurrent requests create one."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.models import ApiKey
from app.auth.service import hash_secret
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


# Review findings (issue #13, item 2): a key is never left without its response, an
# unfinished key is 409, and the fingerprint covers method, path, query and parsed body.

UNREGISTERED = "/01/06901234567892/feedback"  # a product-level code is genuine; no such GTIN


async def test_feedback_for_an_unregistered_code_does_not_poison_the_key(
    client: AsyncClient,
) -> None:
    headers = {"Accept": "application/json", "Idempotency-Key": "predictable-1"}
    first = await client.post(UNREGISTERED, json={"rating": 3}, headers=headers)
    again = await client.post(UNREGISTERED, json={"rating": 3}, headers=headers)
    assert first.status_code == 404, first.text
    assert again.status_code == 404, again.text
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_a_key_without_a_stored_response_is_409(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    from app.core.idempotency import IdempotencyRecord

    secret = regulator["Authorization"].split()[1]
    principal_key = await session.scalar(
        select(ApiKey.id).where(ApiKey.key_hash == hash_secret(secret))
    )
    assert principal_key is not None
    session.add(IdempotencyRecord(scope=principal_key, key="unfinished", fingerprint="0" * 64))
    await session.flush()
    uscc = await make_organization(session)
    response = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(),
        headers=regulator | {"Idempotency-Key": "unfinished"},
    )
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _count(session) == 0


async def test_another_query_with_the_same_key_is_422(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    data = (
        "uscc,case_no,authority,decided_on,category,severity,public_summary\r\n"
        f"{uscc},幂等〔2026〕1号,杭州市市场监督管理局,2026-01-05,产品质量,minor,标签不规范\r\n"
    ).encode()
    # The same bytes (one boundary) to two modes: only the query differs.
    headers = regulator | {"Idempotency-Key": "import-1", "content-type": "text/csv"}
    partial = await client.post(
        "/v1/imports/violations?mode=partial", content=data, headers=headers
    )
    assert partial.status_code == 200, partial.text
    atomic = await client.post("/v1/imports/violations?mode=atomic", content=data, headers=headers)
    assert atomic.status_code == 422, atomic.text
    assert atomic.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_multipart_retry_with_a_new_boundary_replays(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    data = (
        "uscc,case_no,authority,decided_on,category,severity,public_summary\r\n"
        f"{uscc},幂等〔2026〕2号,杭州市市场监督管理局,2026-01-05,产品质量,minor,标签不规范\r\n"
    ).encode()

    def multipart(boundary: str) -> bytes:
        return (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="v.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )

    responses = []
    for boundary in ("first-boundary-1111", "second-boundary-2222"):
        responses.append(
            await client.post(
                "/v1/imports/violations?mode=partial",
                content=multipart(boundary),
                headers=regulator
                | {
                    "Idempotency-Key": "import-2",
                    "content-type": f"multipart/form-data; boundary={boundary}",
                },
            )
        )
    first, again = responses
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await _count(session) == 1
