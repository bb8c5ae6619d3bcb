"""Request id, one `request_completed` log line and Prometheus metrics per request.

Pure ASGI (no BaseHTTPMiddleware): it sits on every request's path. The log line
carries the route template, never the raw path (it may hold a code or a serial)
nor the client address.
"""

from __future__ import annotations

import functools
import os
import re
import time

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import Message, Receive, Scope, Send

from app.core import logging
from app.core.giveway import IN_FLIGHT
from app.core.httpmiddleware import HttpMiddleware

REQUESTS = Counter("qcr_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "qcr_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# On every response: no script may run (pages work without JavaScript), no
# framing, no MIME sniffing, no referrer leaking codes or serials to other sites.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


@functools.lru_cache(maxsize=4096)  # routes are templates: few label sets
def _observed(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The metrics' children for these labels (prometheus_client's `labels` checks
    and locks on every call)."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


def route_template(scope: Scope) -> str:
    """The matched route's template (FastAPI leaves the route in the scope)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class RequestContextMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        ids = (value for name, value in scope["headers"] if name == b"x-request-id")
        incoming = next(ids, b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        docs = scope["path"] in ("/docs", "/redoc", "/docs/oauth2-redirect")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *(SECURITY_HEADERS if not docs else SECURITY_HEADERS[1:]),
                ]
            await send(message)

        IN_FLIGHT.count += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            IN_FLIGHT.count -= 1
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            requests, latency = _observed(method, route, status)
            requests.inc()
            latency.observe(elapsed)
            logging.access(request_id, method, route, status, round(elapsed * 1000, 2))
