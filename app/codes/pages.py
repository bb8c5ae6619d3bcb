"""Answers of the public resolver: pages, JSON, not-genuine, with caching headers.

Caching: a recall or a black-listing must reach the very next scan, so every
resolver answer is `Cache-Control: no-cache` — caches may keep it, but must
revalidate — with a strong ETag over the exact body, so revalidation of an
unchanged answer is a 304 without a body. `Vary: Accept` because one URI
answers HTML, JSON or a linkset. (Item pages change with every scan, since
they show the scan count.)
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from fastapi import Request, Response
from markupsafe import escape

from app.codes import linkset
from app.core import conditional
from app.core.errors import NotFound
from app.core.templates import render_text

CACHE_CONTROL = "no-cache"
HAZARD = {1: "一级（最严重）", 2: "二级", 3: "三级"}
RECALL_KIND = {"voluntary": "主动召回", "ordered": "责令召回"}
RESULT = {"pass": "合格", "fail": "不合格"}
FIELD_ZH = {"rating": "评分", "comment": "评价内容", "complaint": "投诉", "contact": "联系方式"}
LABELS: dict[str, Any] = {
    "HAZARD": HAZARD,
    "RECALL_KIND": RECALL_KIND,
    "RESULT": RESULT,
    "FIELD_ZH": FIELD_ZH,
}


def raw_path(request: Request) -> str:
    """The path as sent, still percent-encoded (Starlette's `url.path` is decoded,
    which would turn a lot's `%2F` into a path separator)."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return str(request.url.path)


def self_reference(path: str) -> str:
    """A relative reference to `path` from itself, without its query: `./{last segment}`.
    It survives a reverse proxy that mounts the resolver under a prefix."""
    return "./" + path.rsplit("/", 1)[-1]


def base_headers(anchor: str | None) -> dict[str, str]:
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept"}
    if anchor:
        headers["Link"] = linkset.link_header(anchor)
    return headers


# The answer with its ETag: 304 when the client has it, no body for HEAD.
respond = conditional.answer


def json_body(data: Any) -> bytes:
    return orjson.dumps(data)


def html_body(template: str, **context: Any) -> bytes:
    return render_page(template, **context).encode()


def render_page(template: str, **context: Any) -> str:
    return render_text(template, **(LABELS | context))


# Marks a slot in a page rendered once: private-use characters around a random
# number of this process, which no data can hold (it never leaves the process).
_MARK = f"\ue000{secrets.token_hex(8)}\ue001"


def slot(name: str) -> str:
    """What a template is given in the place of a per-request value (see `Slotted`)."""
    return f"{_MARK}{name}{_MARK}"


class Slotted:
    """A page rendered once with `slot(name)` in the place of each per-request value:
    `fill(values)` is the page those values would have rendered, escaped as the
    templates' autoescape escapes them, for the cost of a join."""

    def __init__(self, parts: list[str]) -> None:
        self._parts = parts  # text, slot name, text, …, text

    @classmethod
    def of(cls, text: str, names: set[str], data: Any) -> Slotted | None:
        """None when `data` (what the page was rendered from) holds a mark itself,
        or the text does not split into text and `names`."""
        if _MARK.encode() in orjson.dumps(data):
            return None
        parts = text.split(_MARK)
        if len(parts) % 2 == 0 or not set(parts[1::2]) <= names:
            return None
        return cls(parts)

    def fill(self, values: dict[str, str]) -> bytes:
        parts = self._parts.copy()
        for i in range(1, len(parts), 2):
            parts[i] = escape(values[parts[i]])
        return "".join(parts).encode()


class NotGenuine(NotFound):
    title, slug = "Not a genuine code", "not-genuine"


def not_genuine(request: Request, *, html: bool, detail: str) -> Response:
    """404: the code was not issued here (forged, altered or unknown)."""
    headers = base_headers(None)
    if html:
        return respond(
            request, html_body("codes/not_genuine.html"), "text/html", headers, status_code=404
        )
    problem = NotGenuine(detail, extra={"genuine": False}).response(headers)
    return respond(
        request, bytes(problem.body), "application/problem+json", headers, status_code=404
    )
