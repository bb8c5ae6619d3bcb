"""Webhook targets and the SSRF rules of SPEC §11.

A target is HTTPS (plain HTTP only with `QCR_WEBHOOK_ALLOW_HTTP`), its host is
resolved at registration and again before every delivery batch (the
dispatcher's `delivery.Target.check`), every address it resolves to must be
global unicast (private, loopback,
link-local, CGNAT, ULA, multicast, reserved and the IPv4 forms embedded in IPv6
— mapped, 6to4, Teredo, NAT64 — are refused unless `QCR_WEBHOOK_ALLOW_PRIVATE`),
and the connection goes to the address that was checked, so a DNS answer that
changes between the check and the connect (rebinding) cannot redirect it.
Redirects are never followed (app/partners/client.py follows none).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.core.errors import invalid

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0  # seconds
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """The target may not be called; the message says why (no address data leaks)."""


@dataclass(frozen=True)
class TargetRules:
    allow_private: bool = False
    allow_http: bool = False


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_global_unicast(address: IPAddress) -> bool:
    """Global unicast, and so is any IPv4 address an IPv6 one carries."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_global_unicast(inner)
    return True


def check_address(address: IPAddress, rules: TargetRules) -> None:
    if rules.allow_private:
        return
    if not is_global_unicast(address):
        raise TargetRefused("the target resolves to an address that is not global unicast")


def check_url(url: str, rules: TargetRules) -> tuple[str, int]:
    """The host and port of an acceptable URL; 422 naming `url` otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise invalid("url", f"is longer than {MAX_URL_LENGTH} characters")
    if any(c <= " " or c == "\x7f" for c in url):
        raise invalid("url", "may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)  # what the dispatcher's client will parse
    except (ValueError, httpx.InvalidURL):
        raise invalid("url", "is not a valid URL") from None
    allowed = ("https", "http") if rules.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise invalid("url", "must be an https:// URL")
    if not parts.hostname:
        raise invalid("url", "has no host")
    if parts.username or parts.password:
        raise invalid("url", "may not carry credentials")
    if parts.fragment:
        raise invalid("url", "may not have a fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (literal addresses as they are)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def checked_addresses(host: str, port: int, rules: TargetRules) -> list[IPAddress]:
    """Resolve and check every address; TargetRefused if any is not acceptable."""
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError, UnicodeError):
        raise TargetRefused("the target's host does not resolve") from None
    if not addresses:
        raise TargetRefused("the target's host does not resolve")
    for address in addresses:
        check_address(address, rules)
    return addresses


async def check_target(url: str, rules: TargetRules) -> None:
    """At registration: the URL's form and every address it resolves to."""
    host, port = check_url(url, rules)
    try:
        await checked_addresses(host, port, rules)
    except TargetRefused as exc:
        raise invalid("url", str(exc)) from None
