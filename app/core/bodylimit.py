"""A bound on every request body (SPEC §8: beyond the bound is a 422 naming it).

Pure ASGI, so it costs nothing on requests without a body. A `Content-Length`
over the bound is refused before a byte is read; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the bound,
so no request can make the service buffer more than the bound. The bound sits
above the largest body any operation accepts (the 5 MiB CSV import, which
names its own, smaller bound).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import invalid

MAX_BODY_BYTES = 6 * 1024 * 1024
MESSAGE = f"the request body exceeds the bound of {MAX_BODY_BYTES} bytes (6 MiB)"


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` (an HTTPException, so FastAPI's body parsing lets it through)."""

    def __init__(self) -> None:
        super().__init__(status_code=422, detail=MESSAGE)


def too_large() -> Response:
    return invalid("body", MESSAGE).response()


async def _handler(_: Request, __: Exception) -> Response:
    return too_large()


_BODILESS = frozenset({"GET", "HEAD"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def bodiless_read(scope: Scope) -> bool:
    """A GET or HEAD that announces no body: nothing for this middleware to bound."""
    return scope["method"] in _BODILESS and not any(
        name in _BODY_HEADERS for name, _ in scope["headers"]
    )


class BodyLimitMiddleware:
    HOT_LANE = False  # the hot lane takes only requests without a body

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or bodiless_read(scope):
            # nothing to bound: no wrapping at all (the hot lane skips this layer)
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await too_large()(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large()(scope, receive, send)


def install(app: FastAPI, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Bound request bodies (add before the request-context middleware: it stays outside)."""
    app.add_exception_handler(BodyTooLarge, _handler)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)


async def read_bounded(request: Request, max_bytes: int) -> bytes:
    """The body of an operation with a smaller bound of its own: refused (422
    naming `body`) by its Content-Length before a byte is read, else as soon as
    the bytes that arrive pass the bound."""
    too_long = f"the body exceeds the bound of {max_bytes} bytes"
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise invalid("body", too_long)
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > max_bytes:
            raise invalid("body", too_long)
    return data


def json_or_form(
    content_type: str,
    data: bytes,
    *,
    max_fields: int,
    form: Callable[[list[tuple[str, str]]], dict[str, Any]] = dict,
) -> Any:
    """A body sent as JSON, or as an HTML form (its fields through `form`), as the
    value to validate; anything else is a 422 naming `body`."""
    if content_type.startswith("application/json"):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise invalid("body", "is not valid JSON") from None
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            text = data.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
        except (UnicodeDecodeError, ValueError):
            message = f"is not a valid UTF-8 form of at most {max_fields} fields"
            raise invalid("body", message) from None
        return form(pairs)
    raise invalid("body", "send application/json or an application/x-www-form-urlencoded form")
