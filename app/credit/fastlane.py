"""The anonymous current-credit lookup, answered before FastAPI's routing.

`GET /v1/organizations/{code}/credit` with no query and no key is the request
partners' portals and the public repeat most. This ASGI layer sits inside the
request-context middleware (so the request id, the log line, the metrics and
the security headers are the same) and answers it from the hot paths' pool in
one prepared statement. Anything it cannot answer — a malformed code, a client
over its rate limit, an unknown organization, a status past its edge, no pool
(tests) — goes on to the regular route, which answers exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import TooManyRequests
from app.core.principal import ANONYMOUS
from app.core.ratelimit import client_id, limiter_of
from app.core.settings import settings_of
from app.credit import service as credit_service
from app.organizations import codes

_PATH = re.compile(r"^/v1/organizations/([^/]{1,64})/credit$")
_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class _Route:
    path: str  # what the log line and the metrics name the route by


ROUTE = _Route("/v1/organizations/{code}/credit")


class CreditFastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _PATH.match(scope["path"])
            if match and not any(name == b"authorization" for name, _ in scope["headers"]):
                body = await self._answer(scope, match.group(1))
                if body is not None:
                    scope["route"] = ROUTE
                    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, raw: str) -> bytes | None:
        app = scope["app"]
        pool = app.state.database.fast_pool
        if pool is None:
            return None
        try:
            code = codes.parse_code(raw).value
        except codes.InvalidCode:
            return None
        try:
            limit = settings_of(app).rate_limit_public
            await limiter_of(app).hit("public", limit, client_id(Request(scope)))
        except TooManyRequests:
            return None
        fields = await credit_service.fetch_current(None, code, pool)
        if fields is None:
            return None
        from app.credit.router import public_view

        return orjson.dumps(public_view(ANONYMOUS, fields) | {"known_at": None})
