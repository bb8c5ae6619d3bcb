"""Cursor pagination: `{"items": [...], "next_cursor": "…" | null}` (SPEC §5)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from app.core.errors import invalid

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")]
CursorParam = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The keyset position a cursor stands for; 422 for a cursor we did not make."""
    if cursor is None:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise invalid("cursor", "is not a cursor this service issued") from None
    if not isinstance(key, list) or len(key) != arity:
        raise invalid("cursor", "is not a cursor this service issued")
    if not all(isinstance(part, str | int) and not isinstance(part, bool) for part in key):
        raise invalid("cursor", "is not a cursor this service issued")
    return key
