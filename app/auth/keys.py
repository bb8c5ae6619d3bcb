"""Who is calling: the API key of a request, verified without a database round trip
when this process verified it a moment ago.

`key_cache` keeps verified keys (by the SHA-256 of the secret, never the
secret) for at most `TTL_SECONDS`. Staleness (app/core/watched.py): a revoked
key is refused by every process within 1 second of the revocation's commit —
`revoke_key` NOTIFYs `apikey` with the key's id, each process's `Watch` drops
the entry, and the cache answers only while the watch is confirmed; otherwise
every lookup goes to the primary (never a lagging replica — except while the
primary cannot be reached, when the replica, which holds every revocation made
before the outage, answers rather than refusing every partner). Unknown
and revoked keys are not cached: each attempt with one costs a lookup.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request
from prometheus_client import Counter

from app.auth import service
from app.core.database import database_of
from app.core.errors import Unauthorized, is_unavailable
from app.core.handles import Handle
from app.core.hotroute import read_session, request_session
from app.core.notify import Watch
from app.core.principal import ANONYMOUS, Principal, Role
from app.core.watched import WatchedCache

log = structlog.get_logger("qcr.auth")
LOOKUPS = Counter("qcr_api_key_lookups_total", "API key verifications", ["source"])
FROM_CACHE, FROM_DATABASE = LOOKUPS.labels("cache"), LOOKUPS.labels("database")

TTL_SECONDS = 60.0
MAX_KEYS = 10_000
TOPIC = "apikey"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qcr"'}


def key_cache(watch: Watch) -> WatchedCache[str, Principal]:
    """Verified keys by digest, tagged by key id (what a revocation names)."""
    return WatchedCache(watch, TOPIC, ttl=TTL_SECONDS, max_entries=MAX_KEYS)


# Bound by the serving app's lifespan; none in tests (every lookup is a read).
KEY_CACHE: Handle[WatchedCache[str, Principal]] = Handle("key_cache", WatchedCache)


def bearer_secret(request: Request) -> str | None:
    """The key of `Authorization: Bearer <key>`; None without the header, 401 if malformed."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'", headers=CHALLENGE)
    return secret


async def principal_of(request: Request) -> Principal:
    """The caller: anonymous without a key, 401 for an unknown or revoked one."""
    secret = bearer_secret(request)
    if secret is None:
        return ANONYMOUS
    digest = service.hash_secret(secret)
    cache = KEY_CACHE.of(request)
    principal = cache.get(digest) if cache is not None else None
    if principal is not None:
        FROM_CACHE.inc()
    else:
        FROM_DATABASE.inc()
        token = cache.begin() if cache is not None else 0
        principal = await _lookup(request, digest)
        if principal is None:
            raise Unauthorized("unknown or revoked API key", headers=CHALLENGE)
        if cache is not None:
            cache.put(digest, principal, (str(principal.key_id),), token)
    request.state.role = principal.role.value
    return principal


async def _lookup(request: Request, digest: str) -> Principal | None:
    """On the primary (a revocation is there first); only while the primary cannot
    be reached, on the replica (which has every revocation made before the outage)."""
    database = database_of(request)
    try:
        row = await _key_row(request, database.primary_pool, digest, replica=False)
    except Exception as exc:
        if not (database.has_replica and is_unavailable(exc)):
            raise
        log.warning("api_key_read_from_replica", reason="primary database unavailable")
        row = await _key_row(request, database.fast_pool, digest, replica=True)
    if row is None:
        return None
    return Principal(
        Role(row["role"]), key_id=row["id"], uscc=row["uscc"], official=row["official"]
    )


async def _key_row(request: Request, pool: Any, digest: str, *, replica: bool) -> Any:
    if pool is not None:
        return await pool.fetchrow(service.KEY_SQL, digest)
    opened = read_session(request) if replica else request_session(request, commit=False)
    async with opened as session:  # no pool (tests): the request's own session
        return await service.key_row(session, digest)
