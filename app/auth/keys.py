"""Who is calling: the API key of a request, verified without a database round trip
when this process verified it a moment ago.

`KeyCache` keeps verified keys (by the SHA-256 of the secret, never the secret)
for at most `TTL_SECONDS`. Staleness: a revoked key is refused by every process
within 1 second of the revocation's commit — `revoke_key` NOTIFYs `apikey`, each
process's `Watch` (app/core/notify.py) drops the entry, and the cache answers
only while the watch has confirmed its connection within the last 0.8 s;
otherwise every lookup goes to the primary (never a lagging replica). Unknown
and revoked keys are not cached: each attempt with one costs a lookup.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from fastapi import Request
from prometheus_client import Counter

from app.auth import service
from app.core.errors import Unauthorized
from app.core.hotroute import request_session
from app.core.notify import Watch
from app.core.principal import ANONYMOUS, Principal, Role

LOOKUPS = Counter("qcr_api_key_lookups_total", "API key verifications", ["source"])
FROM_CACHE, FROM_DATABASE = LOOKUPS.labels("cache"), LOOKUPS.labels("database")

TTL_SECONDS = 60.0
MAX_KEYS = 10_000
TOPIC = "apikey"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qcr"'}


class KeyCache:
    """Verified keys of this process; see the module docstring for its staleness."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self._keys: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        watch.subscribe(TOPIC, self.forget)
        watch.on_reset(self._keys.clear)

    def get(self, digest: str) -> Principal | None:
        if not self.watch.confirmed():
            return None
        found = self._keys.get(digest)
        if found is None or time.monotonic() - found[0] > TTL_SECONDS:
            return None
        return found[1]

    def put(self, digest: str, principal: Principal) -> None:
        self._keys[digest] = (time.monotonic(), principal)
        self._keys.move_to_end(digest)
        while len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Drop a revoked key (the notification names its id)."""
        for digest, (_, principal) in list(self._keys.items()):
            if str(principal.key_id) == key_id:
                del self._keys[digest]


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
    cache: KeyCache | None = getattr(request.app.state, "key_cache", None)
    principal = cache.get(digest) if cache is not None else None
    if principal is not None:
        FROM_CACHE.inc()
    else:
        FROM_DATABASE.inc()
        principal = await _lookup(request, digest)
        if principal is None:
            raise Unauthorized("unknown or revoked API key", headers=CHALLENGE)
        if cache is not None:
            cache.put(digest, principal)
    request.state.role = principal.role.value
    return principal


async def _lookup(request: Request, digest: str) -> Principal | None:
    pool: Any = request.app.state.database.primary_pool
    if pool is not None:
        row = await pool.fetchrow(service.KEY_SQL, digest)
    else:  # tests: the request's own (rolled-back) session
        async with request_session(request, commit=False) as session:
            row = await service.key_row(session, digest)
    if row is None:
        return None
    return Principal(Role(row["role"]), key_id=row["id"], uscc=row["uscc"])
