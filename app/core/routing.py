"""The route class that commits, and OpenAPI descriptions of problem responses."""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
from collections.abc import Callable
from typing import Any

from fastapi import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
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


class Settles:
    """A dependency that must see the endpoint's result before the commit (the
    idempotency key stores the response, or gives the key up, in the same
    transaction as the write)."""

    async def settle(self, result: object) -> None:
        raise NotImplementedError


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
        settling = [v for v in kwargs.values() if isinstance(v, Settles)]
        for attempt in range(ATTEMPTS):
            try:
                result = await endpoint(*args, **kwargs)
                for dependency in settling:  # before the commit, in the same transaction
                    await dependency.settle(result)
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


class ProblemField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem (application/problem+json); `errors` names each invalid field."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = Field(default=[])


def problem_components() -> dict[str, Any]:
    """`Problem` and what it refers to, as OpenAPI components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defined: dict[str, Any] = schema.pop("$defs", {})
    return defined | {"Problem": schema}


# Every problem response refers to the one `Problem` component (app/openapi.py
# puts PROBLEM_SCHEMA there), so a generated client has one problem type.
PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses an operation can return."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 503):
        error = _EXAMPLES[status]
        entry: dict[str, Any] = {
            "description": error.title,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF, "example": error.body()}},
        }
        if status in (429, 503):
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
            }
        out[status] = entry
    return out


def created(
    model: Any, *statuses: int, description: str = "Created", accepted: str | None = None
) -> dict[str, Any]:
    """The route arguments of a create that answers 201 with `model` in a response
    it builds itself (`Idempotent.create`): `accepted` describes the 202 of four
    eyes where there is one, `statuses` the problems it can return."""
    answers: dict[int | str, dict[str, Any]] = {201: {"model": model, "description": description}}
    if accepted is not None:
        answers[202] = {"description": accepted}
    return {
        "status_code": 201,
        "response_class": Response,
        "responses": answers | responses(*statuses),
    }
