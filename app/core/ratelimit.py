"""Rate limits for anonymous callers (SPEC §5): 429 with `Retry-After`.

A moving window per (scope, client): the `limits` library's on Redis when
`REDIS_URL` is set, so that every replica shares one count per client; without
it, the same window kept in this process's memory by `MovingWindow` below.
Each app gets its own limiter (made on first use), so tests never share counts.

The client is who `client_id` says: the socket peer, or — only when the peer is
one of `QCR_TRUSTED_PROXIES` — the right-most address in `X-Forwarded-For` that
is not a trusted proxy. Anything further left was written by the client itself
and would let it pick a fresh identity (and a fresh limit) on every request.
An IPv6 client is its /64 (SPEC §8), for limits and for the scan client hashes.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import structlog
from fastapi import FastAPI, Request
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.core.errors import TooManyRequests
from app.core.handles import Handle
from app.core.settings import Settings, settings_of

log = structlog.get_logger("qcr.ratelimit")

KEY_PREFIX = "qcr-rate"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_rate(rate: str) -> RateLimitItem:
    """A `limits` rate string such as "120/minute" (ValueError if malformed)."""
    return parse(rate)


class MovingWindow:
    """`limits`' moving window (at most `limit` hits in any `window` seconds), in
    this process's memory.

    `limits`' own memory storage runs an expiry task per hit that hops to a
    thread for every key it holds: profiled under load (py-spy, 2026-11-30) that
    was a quarter of the anonymous credit lookup's CPU. Here a key's hit times
    are a deque trimmed when the key is used, and keys idle for a whole window
    are dropped by a sweep every `SWEEP_SECONDS`: memory holds the clients of
    the last window and sweep, at most `limit` times per client."""

    SWEEP_SECONDS = 10.0

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._swept = -math.inf

    def hit(self, key: str, limit: int, window: float, now: float) -> float | None:
        """Count a hit at `now` (monotonic seconds) and answer None, or refuse it
        and answer the seconds until the window has room again."""
        held = self._hits.get(key)
        if held is None:
            held = self._hits[key] = (window, deque(maxlen=limit))
        hits = held[1]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + window - now if hits else window
        hits.append(now)
        if now - self._swept >= self.SWEEP_SECONDS:
            self._sweep(now)
        return None

    def held(self) -> int:
        """How many keys are held."""
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        self._swept = now
        idle = [
            k for k, (window, hits) in self._hits.items() if not hits or hits[-1] <= now - window
        ]
        for key in idle:
            del self._hits[key]


class RateLimiter:
    """Moving-window limits per (scope, client): in memory, or on a `limits` storage."""

    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage) if storage is not None else None
        self.memory = MovingWindow()

    @classmethod
    def for_settings(cls, settings: Settings, *, key_prefix: str = KEY_PREFIX) -> RateLimiter:
        """In memory, or Redis (redis:// or rediss://) when REDIS_URL is set."""
        if not settings.redis_url:
            return cls()
        uri = settings.redis_url
        if not uri.startswith("async+"):
            uri = "async+" + uri
        storage = storage_from_string(uri, implementation="redispy", key_prefix=key_prefix)
        assert isinstance(storage, Storage)  # the async flavour, from the "async+" scheme
        return cls(storage)

    async def hit(self, scope: str, rate: str, client: str) -> None:
        """Count one request; TooManyRequests with Retry-After once over the limit."""
        item = parse_rate(rate)
        if self.strategy is None:
            # Keyed as `limits` keys it: a rate of its own counts apart.
            key = item.key_for(scope, client)
            wait = self.memory.hit(key, item.amount, item.get_expiry(), time.monotonic())
            if wait is None:
                return
        else:
            try:
                allowed = await self.strategy.hit(item, scope, client)
                if allowed:
                    return
                stats = await self.strategy.get_window_stats(item, scope, client)
            except Exception as exc:  # an unreachable Redis must not take the site down
                # Fail open: a shared limiter that is down should not stop consumers
                # from checking a product; the error is logged (without the client).
                log.warning("rate_limit_unavailable", scope=scope, error=type(exc).__name__)
                return
            wait = stats.reset_time - time.time()
        retry_after = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"rate limit of {rate} exceeded; retry after {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


RATE_LIMITER: Handle[RateLimiter] = Handle("rate_limiter", RateLimiter)


def limiter_of(app: FastAPI) -> RateLimiter:
    """The app's limiter, made from its settings on first use (tests may set their own)."""
    limiter = RATE_LIMITER.get(app)
    if limiter is not None:
        return limiter
    made = RateLimiter.for_settings(settings_of(app))
    RATE_LIMITER.bind(app, made)
    return made


@lru_cache(maxsize=16)
def _networks(trusted: frozenset[str]) -> tuple[Network, ...]:
    networks = []
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("trusted_proxy_ignored", reason="not an address or network")
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(value: str, networks: tuple[Network, ...]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in networks)


_CLIENT_KEY = "qcr.client_id"


def client_id(request: Request) -> str:
    """The client's address as this service can trust it (see the module docstring);
    worked out once per request (the limiter and the resolver's hashes all ask)."""
    scope = request.scope
    found: str | None = scope.get(_CLIENT_KEY)
    if found is None:
        found = scope[_CLIENT_KEY] = _client_id(request)
    return found


def _client_id(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    networks = _networks(settings_of(request.app).trusted_proxy_set)
    if not networks or not _is_trusted(peer, networks):
        return _normalised(peer)
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return _normalised(hop)
    return _normalised(hops[0]) if hops else _normalised(peer)


@lru_cache(maxsize=65_536)  # a pure function of the address: clients come back
def _normalised(value: str) -> str:
    """IPv4 per address, IPv6 per /64 (SPEC §8): a subscriber is handed a whole /64
    and can use any of its 2^64 addresses, so one address is not one client."""
    address = _address(value)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address) if address is not None else value[:64]


# Every check `rate_limit` (app/auth) made: the OpenAPI document gives their
# operations a 429, whatever their roles.
LIMIT_CHECKS: set[Callable[..., Any]] = set()
