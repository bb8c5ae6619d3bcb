"""Rate limits of anonymous resolver and feedback requests, in memory and on Redis.

The Redis tests need a Redis server (`QCR_TEST_REDIS_URL`, default the local
one on port 6379, as on the CI machines) and fail loudly without one, like the
browser tests without Chromium. Each uses its own key prefix and deletes its keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from starlette.requests import Request

from app.core.errors import TooManyRequests
from app.core.ratelimit import MovingWindow, RateLimiter, client_id
from app.core.settings import Settings
from tests.codes.helpers import make_product

REDIS_URL = os.environ.get("QCR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _limit(app: FastAPI, **rates: str) -> None:
    settings: Settings = app.state.settings
    app.state.settings = settings.model_copy(update=rates)


async def _product(client: AsyncClient, regulator: dict[str, str], uscc: str) -> str:
    return "/01/" + await make_product(client, regulator, uscc)


async def test_resolver_answers_429_with_retry_after(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    path = await _product(client, regulator, uscc)
    _limit(app, rate_limit_resolver="3/minute")
    assert [(await client.get(path)).status_code for _ in range(3)] == [200, 200, 200]
    limited = await client.get(path)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # A forged code counts too (no free enumeration), and so does HEAD.
    assert (await client.get("/01/06901234567890")).status_code == 429
    assert (await client.head(path)).status_code == 429
    # Keys are not limited; nor is another client.
    assert (await client.get(path, headers=regulator)).status_code == 200
    transport = ASGITransport(app=app, client=("198.51.100.7", 5000))
    async with AsyncClient(transport=transport, base_url="http://test") as other:
        assert (await other.get(path)).status_code == 200


async def test_a_client_cannot_reset_its_limit_with_x_forwarded_for(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    path = await _product(client, regulator, uscc)
    _limit(app, rate_limit_resolver="2/minute")
    for n in range(2):
        assert (await client.get(path, headers={"X-Forwarded-For": f"10.9.9.{n}"})).is_success
    spoofed = await client.get(path, headers={"X-Forwarded-For": "10.9.9.99"})
    assert spoofed.status_code == 429


async def test_behind_a_trusted_proxy_the_forwarded_client_counts(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    path = await _product(client, regulator, uscc)
    _limit(app, rate_limit_resolver="2/minute", trusted_proxies="127.0.0.1, 10.0.0.0/8")
    via = {"X-Forwarded-For": "6.6.6.6, 203.0.113.5, 10.1.2.3"}
    assert (await client.get(path, headers=via)).status_code == 200
    assert (await client.get(path, headers=via)).status_code == 200
    assert (await client.get(path, headers=via)).status_code == 429
    # The left-most entry is the client's own claim: changing it does not help.
    again = {"X-Forwarded-For": "7.7.7.7, 203.0.113.5, 10.1.2.3"}
    assert (await client.get(path, headers=again)).status_code == 429
    other = {"X-Forwarded-For": "203.0.113.6"}
    assert (await client.get(path, headers=other)).status_code == 200


async def test_feedback_is_limited(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    path = await _product(client, regulator, uscc)
    _limit(app, rate_limit_feedback="2/minute")
    statuses = [
        (await client.post(path + "/feedback", json={"rating": 5})).status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    # The resolver has its own budget.
    assert (await client.get(path)).status_code == 200


def _request(app: FastAPI, peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "app": app, "client": (peer, 1), "headers": headers})


def test_client_identity(app: FastAPI) -> None:
    _limit(app, trusted_proxies="10.0.0.1,2001:db8::/32")
    assert client_id(_request(app, "198.51.100.1", "1.2.3.4")) == "198.51.100.1"
    assert client_id(_request(app, "10.0.0.1", "1.2.3.4")) == "1.2.3.4"
    assert client_id(_request(app, "10.0.0.1", "9.9.9.9, 1.2.3.4:5678, 10.0.0.1")) == "1.2.3.4"
    assert client_id(_request(app, "2001:db8::5", "[2001:db9::1]:443")) == "2001:db9::/64"
    assert client_id(_request(app, "10.0.0.1")) == "10.0.0.1"
    assert client_id(_request(app, "::ffff:198.51.100.2")) == "198.51.100.2"


async def _redis() -> redis.Redis:
    connection = redis.from_url(REDIS_URL)
    try:
        await connection.ping()
    except Exception as exc:  # a missing Redis is a broken test machine, not a skip
        await connection.aclose()
        pytest.fail(f"Redis is required at {REDIS_URL} (QCR_TEST_REDIS_URL): {exc}")
    return connection


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"qcr-test-{uuid.uuid4().hex}"
    connection = await _redis()
    yield prefix
    keys = [key async for key in connection.scan_iter(match=f"{prefix}*")]
    if keys:
        await connection.delete(*keys)
    await connection.aclose()


async def test_redis_backend_is_shared_by_replicas(
    app: FastAPI,
    client: AsyncClient,
    regulator: dict[str, str],
    uscc: str,
    redis_prefix: str,
) -> None:
    path = await _product(client, regulator, uscc)
    settings = app.state.settings.model_copy(
        update={"redis_url": REDIS_URL, "rate_limit_resolver": "3/minute"}
    )
    app.state.settings = settings
    # Two replicas: each its own limiter object, one Redis.
    replica_a = RateLimiter.for_settings(settings, key_prefix=redis_prefix)
    replica_b = RateLimiter.for_settings(settings, key_prefix=redis_prefix)
    app.state.rate_limiter = replica_a
    assert [(await client.get(path)).status_code for _ in range(2)] == [200, 200]
    app.state.rate_limiter = replica_b
    assert (await client.get(path)).status_code == 200
    limited = await client.get(path)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    connection = await _redis()
    try:
        assert [key async for key in connection.scan_iter(match=f"{redis_prefix}*")]
    finally:
        await connection.aclose()


async def test_an_unreachable_redis_fails_open(app: FastAPI) -> None:
    settings = app.state.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    limiter = RateLimiter.for_settings(settings, key_prefix="qcr-test-unreachable")
    for _ in range(3):
        await limiter.hit("resolver", "1/minute", "198.51.100.1")


async def test_ipv6_clients_share_one_limit_per_64(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    """SPEC §8: a /64 is one client (a host there can pick any of 2^64 addresses)."""
    path = await _product(client, regulator, uscc)
    _limit(app, rate_limit_resolver="2/minute")
    statuses = []
    for n in range(3):
        transport = ASGITransport(app=app, client=(f"2001:db8:5:6::{n + 1}", 5000))
        async with AsyncClient(transport=transport, base_url="http://test") as other:
            statuses.append((await other.get(path)).status_code)
    assert statuses == [200, 200, 429]
    # The neighbouring /64 is another client.
    transport = ASGITransport(app=app, client=("2001:db8:5:7::1", 5000))
    async with AsyncClient(transport=transport, base_url="http://test") as other:
        assert (await other.get(path)).status_code == 200


def test_ipv6_client_identity_is_its_64(app: FastAPI) -> None:
    assert client_id(_request(app, "2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_id(_request(app, "2001:db8:1:2:ffff:ffff:ffff:ffff")) == "2001:db8:1:2::/64"
    assert client_id(_request(app, "203.0.113.9")) == "203.0.113.9"


def test_the_memory_window_moves_at_its_boundary() -> None:
    # 3 hits in any 60 s: the 4th is refused until the first is 60 s old, and
    # admitted at that instant (a hit at t is outside the window (t, t + 60]).
    window = MovingWindow()
    assert [window.hit("k", 3, 60, t) for t in (0.0, 10.0, 20.0)] == [None, None, None]
    assert window.hit("k", 3, 60, 59.5) == pytest.approx(0.5)
    assert window.hit("k", 3, 60, 60.0) is None
    assert window.hit("k", 3, 60, 60.1) == pytest.approx(9.9)
    assert window.hit("other", 3, 60, 60.1) is None  # keys count apart
    assert window.hit("zero", 0, 60, 1.0) == 60  # a limit of 0 refuses everything


def test_the_memory_window_forgets_idle_clients() -> None:
    window = MovingWindow()
    for n in range(100):
        window.hit(f"client-{n}", 5, 60, 0.0)
    window.hit("refused", 0, 60, 0.0)  # a limit of 0 holds a key with no hits
    window.hit("late", 5, 60, 61.0)  # past SWEEP_SECONDS: the idle ones go
    assert window.held() == 1
    assert window.hit("client-0", 1, 60, 61.0) is None  # a fresh window


async def test_each_rate_of_a_scope_counts_apart_in_memory() -> None:
    # As with `limits`' keys: a scope whose rate changes (settings reloaded, a
    # test tightening it) starts a window of its own.
    limiter = RateLimiter()
    for _ in range(3):
        await limiter.hit("feedback", "3/minute", "198.51.100.7")
    await limiter.hit("feedback", "1/minute", "198.51.100.7")
    with pytest.raises(TooManyRequests):
        await limiter.hit("feedback", "1/minute", "198.51.100.7")
    with pytest.raises(TooManyRequests):
        await limiter.hit("feedback", "3/minute", "198.51.100.7")
