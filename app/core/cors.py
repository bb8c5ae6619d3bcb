"""CORS for the public resolver and public reads; HEAD wherever GET is.

A GS1-Conformant resolver SHALL support CORS, GET, HEAD and OPTIONS: a scanner
web app on another origin reads the resolver's JSON and linkset. The same holds
for the `/v1` reads (lists, feeds, credit). What is shared is public, so every
answer in scope carries `Access-Control-Allow-Origin: *` and never
`Access-Control-Allow-Credentials`: a browser sends no cookie cross-origin and
reads no answer that needed one. A preflight may ask for `Accept`,
`Content-Type` and the conditional headers, not `Authorization`: a key is for
servers, not for pages on other origins.

- `OPTIONS` on a path in scope answers 204 with `Allow` (every method of the
  resource) and, for a preflight, the `Access-Control-Allow-*` headers (the
  methods shared cross-origin);
- `HEAD` on any path whose route has only `GET` is answered as that `GET`
  without its body (same status and headers, `Content-Length` included). The
  resolver answers its own HEAD (a HEAD is not a scan).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import errors

RESOLVER_PREFIX = "/01/"
WELL_KNOWN = "/.well-known/gs1resolver"
READS = ("GET", "HEAD")
ALLOWED_HEADERS = "Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since"
EXPOSED_HEADERS = "ETag, Last-Modified, Link, Location, Retry-After, Content-Disposition"
MAX_AGE = "86400"


def _methods(path: str) -> tuple[str, ...] | None:
    """The methods shared cross-origin at `path`, or None when it is not shared."""
    if path.startswith(RESOLVER_PREFIX):
        return (
            ("POST", "OPTIONS") if path.rstrip("/").endswith("/feedback") else (*READS, "OPTIONS")
        )
    if path == WELL_KNOWN or path.startswith("/v1/"):
        return (*READS, "OPTIONS")
    return None


class CorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = _methods(scope["path"]) if scope["type"] == "http" else None
        if methods is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await _options(methods, _allow(scope, methods), send)
            return
        shared = scope["method"] in methods

        async def sending(message: Message) -> None:
            if shared and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            await send(message)

        await self.app(scope, receive, sending)


def _allow(scope: Scope, shared: tuple[str, ...]) -> str:
    """`Allow`: every method of the resource (RFC 9110), not only those shared
    cross-origin. The resolver's one route answers GET at a code and POST at its
    `/feedback`, which is what `shared` says already."""
    if scope["path"].startswith(RESOLVER_PREFIX):
        return ", ".join(shared)
    methods = errors.route_methods(scope["app"].routes, scope["path"])
    if not methods:
        return ", ".join(shared)
    implicit = {"HEAD", "OPTIONS"} if "GET" in methods else {"OPTIONS"}
    return ", ".join(sorted(methods | implicit))


async def _options(shared: tuple[str, ...], allow: str, send: Send) -> None:
    headers = [
        (b"allow", allow.encode()),
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-methods", ", ".join(shared).encode()),
        (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
        (b"access-control-max-age", MAX_AGE.encode()),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class HeadMiddleware:
    """HEAD answered as GET without the body, except where a route answers HEAD itself."""

    HOT_LANE = False  # a hot route answers its own methods (the resolver its HEAD)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "HEAD"
            or scope["path"].startswith(RESOLVER_PREFIX)
        ):
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, bodiless)


def install_head(app: FastAPI) -> None:
    """Call before the other middlewares: it sees what the routes answer."""
    app.add_middleware(HeadMiddleware)


def install_cors(app: FastAPI) -> None:
    """Call after the other middlewares: outermost, its headers reach every answer
    in scope (problems from the other middlewares, a 429 or a 413, included)."""
    app.add_middleware(CorsMiddleware)
