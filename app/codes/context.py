"""Per-app values the codes routes need: the code secret, client identity."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
from typing import Annotated

from fastapi import Depends, Request

from app.codes.secret import load_code_secret
from app.core.handles import Handle
from app.core.ratelimit import client_id
from app.core.settings import settings_of

# Domain separation from the serial tags keyed by the same secret.
_CLIENT_LABEL = b"qcr/scan-client/v1"
CLIENT_HASH_BYTES = 16

_BOT = re.compile(
    r"bot\b|bot/|crawler|spider|slurp|preview|facebookexternalhit|embedly|headless", re.IGNORECASE
)
_MOBILE = re.compile(
    r"mobile|android|iphone|ipad|ipod|harmonyos|micromessenger|alipayclient|windows phone",
    re.IGNORECASE,
)
_DESKTOP = re.compile(r"windows nt|macintosh|x11;|cros|linux x86_64", re.IGNORECASE)


CODE_SECRET: Handle[bytes] = Handle("code_secret", bytes)


def loaded_code_secret(request: Request) -> bytes:
    """QCR_CODE_SECRET (or the data-dir secret), read once per app."""
    secret = CODE_SECRET.of(request)
    if secret is not None:
        return secret
    loaded = load_code_secret(settings_of(request.app))
    CODE_SECRET.bind(request.app, loaded)
    return loaded


# `async def` although it does not await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hop per resolver request.
async def code_secret(request: Request) -> bytes:
    return loaded_code_secret(request)


CodeSecret = Annotated[bytes, Depends(code_secret)]


def client_hash(secret: bytes, client: str) -> bytes:
    """A keyed hash of the client's address: stable (distinct clients can be
    counted) but, without the secret, not reversible even over all IPv4 addresses."""
    key = _client_key(secret)
    return hmac.digest(key, client.encode("utf-8", "replace"), "sha256")[:CLIENT_HASH_BYTES]


@functools.lru_cache(maxsize=8)  # one secret per deployment (a few in tests)
def _client_key(secret: bytes) -> bytes:
    return hmac.digest(secret, _CLIENT_LABEL, "sha256")


def request_client_hash(request: Request) -> bytes:
    return client_hash(loaded_code_secret(request), client_id(request))


def signal_network(client: str) -> str | None:
    """The /48 of an IPv6 client (`client_id` gives its /64), or None for IPv4,
    where the address itself is the client the signals count (SPEC §10)."""
    if ":" not in client:  # an IPv4 address (or no address at all)
        return None
    try:
        network = ipaddress.ip_network(client, strict=False)
    except ValueError:
        return None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen > 48:
        return str(network.supernet(new_prefix=48))
    return None


def request_client_net(request: Request) -> bytes | None:
    """The keyed hash of an IPv6 client's /48, stored with its scans and feedback
    beside the per-/64 `client_hash` (SPEC §8): the signal series count
    `coalesce(client_net, client_hash)` (SPEC §10). None for IPv4, whose address
    hash is already the client the signals count."""
    network = signal_network(client_id(request))
    return None if network is None else client_hash(loaded_code_secret(request), network)


def agent_class(user_agent: str | None) -> str:
    """mobile, desktop, bot (crawlers, link previews, headless browsers) or other."""
    if not user_agent:
        return "other"
    if _BOT.search(user_agent):
        return "bot"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "other"
