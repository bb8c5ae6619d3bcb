"""Conditional GETs: a strong `ETag` over the exact body, `Last-Modified`, and
304 for `If-None-Match` (or, without it, `If-Modified-Since`, RFC 9110 §13.2.2),
so pollers of the feeds and lists download only what changed."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response


def etag_of(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return '"' + digest.hexdigest()[:32] + '"'


def http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _unmodified_since(if_modified_since: str, last_modified: dt.datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def is_fresh(request: Request, etag: str, last_modified: dt.datetime | None = None) -> bool:
    """The client's copy is current: `If-None-Match` decides when sent."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match:
        return _etag_matches(if_none_match, etag)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        return _unmodified_since(if_modified_since, last_modified)
    return False


def validators(etag: str, last_modified: dt.datetime | None) -> dict[str, str]:
    headers = {"ETag": etag}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    return headers


def answer(
    request: Request,
    body: bytes,
    media_type: str,
    headers: dict[str, str],
    *,
    last_modified: dt.datetime | None = None,
    status_code: int = 200,
) -> Response:
    """The answer with its validators: 304 when the client has it, no body for HEAD."""
    headers = headers | validators(etag_of(body), last_modified)
    if status_code == 200 and is_fresh(request, headers["ETag"], last_modified):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", status_code=status_code, media_type=media_type, headers=headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
