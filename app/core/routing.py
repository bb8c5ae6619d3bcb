"""The route class that commits, and OpenAPI descriptions of problem responses."""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import errors
from app.core.errors import (
    PROBLEM_JSON,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    RegistryError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)


class AutoCommitRoute(APIRoute):
    """Commit the request's session when the endpoint returns, before the response
    is built: a failed commit becomes an error response, and nothing reaches the
    client that the database did not keep (STYLE 4; polar's AutoCommitAPIRoute)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _committing(endpoint), **kwargs)


# A deadlock or a serialisation failure aborts the whole transaction and nothing
# of it stays: the request may simply run again (SPEC §8: contention is never an
# error). Lock and statement timeouts are not retried here (the wait would
# double); they become 503 with Retry-After (app.core.errors).
RETRY_STATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and errors.sqlstate(exc) in RETRY_STATES


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if not inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        sessions = [v for v in kwargs.values() if isinstance(v, AsyncSession)]
        for attempt in range(ATTEMPTS):
            try:
                result = await endpoint(*args, **kwargs)
                for session in sessions:
                    if session.in_transaction():
                        await session.commit()
                return result
            except DBAPIError as exc:
                if not _retryable(exc) or attempt == ATTEMPTS - 1:
                    raise
                for session in sessions:
                    await session.rollback()
                await asyncio.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapped


# The problems an operation may document, each with an example detail: the
# example is built by the error class the server raises, so the documented
# `type` is the one clients receive.
_EXAMPLES: dict[int, RegistryError] = {
    error.status: error
    for error in (
        Unauthorized("an API key is required"),
        Forbidden("the partner role may not do this"),
        NotFound("no organization with code 91110000600037341L"),
        Conflict("a request with this Idempotency-Key is in progress"),
        PreconditionFailed("the record has changed: If-Match does not match the current ETag"),
        Unprocessable(
            "code: check character mismatch: expected 'L', got 'X'",
            errors=[{"field": "code", "message": "check character mismatch"}],
        ),
        PreconditionRequired("If-Match is required to change a versioned record"),
        TooManyRequests("rate limit exceeded; retry after the time in Retry-After"),
        Unavailable("the database is unavailable; retry shortly"),
    )
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses an operation can return."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 503):
        error = _EXAMPLES[status]
        entry: dict[str, Any] = {
            "description": error.title,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA, "example": error.body()}},
        }
        if status in (429, 503):
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
            }
        out[status] = entry
    return out
