"""Text PostgreSQL cannot store, refused with a 422 naming the field before it
reaches a query.

PostgreSQL rejects the NUL character in `text` and `jsonb`, and a lone UTF-16
surrogate (`"\\ud800"` in JSON, which Python's parser accepts) cannot even be
encoded for the wire: either would otherwise fail deep inside a write as a
driver error. No field of this API has a use for them, so they are refused
at the edge, in JSON bodies, form bodies, query strings and paths alike.

JSON bodies are inspected only when they contain a `\\u` escape (the only way
to write either character in valid JSON), so ordinary requests pay one
substring search. Bodies are bounded before this runs (app/core/bodylimit.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import field_name, validation_problem
from app.core.httpmiddleware import HttpMiddleware

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "contains a NUL character or an unpaired surrogate, which cannot be stored"


def _walk(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                yield (*loc, key)
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


def unstorable_json(body: bytes) -> list[str]:
    """The fields of a JSON body holding unstorable text (none if it is not JSON)."""
    if b"\\u" not in body:
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON: the framework's parser answers 422 for it
    return [field_name(("body", *loc)) for loc in _walk(document, ())]


def unstorable_pairs(encoded: str) -> list[str]:
    """The names of urlencoded pairs (query string, form body) holding unstorable text."""
    pairs = parse_qsl(encoded, keep_blank_values=True)  # decoded as Starlette decodes them
    return [name for name, value in pairs if UNSTORABLE.search(name + value)]


def _refuse(fields: list[str]) -> Any:
    errors = [{"field": name or "body", "message": MESSAGE} for name in fields[:20]]
    return validation_problem(errors).response()


class TextGuardMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields: list[str] = []
        if UNSTORABLE.search(scope["path"]):
            fields.append("path")
        query = scope.get("query_string", b"")
        if query:
            fields += unstorable_pairs(query.decode("latin-1"))
        if not fields and scope["method"] in ("GET", "HEAD"):  # no body to screen
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        is_json = media_type == b"application/json" or media_type.endswith(b"+json")
        is_form = media_type == b"application/x-www-form-urlencoded"
        if fields or not (is_json or is_form) or scope["method"] in ("GET", "HEAD"):
            if fields:
                await _refuse(fields)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fields = unstorable_json(body) if is_json else unstorable_pairs(body.decode("latin-1"))
        if fields:
            await _refuse(fields)(scope, receive, send)
            return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install(app: FastAPI) -> None:
    """Screen inputs (add before the body limit: the bound is checked first)."""
    app.add_middleware(TextGuardMiddleware)
