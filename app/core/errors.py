"""One error hierarchy, rendered as RFC 9457 problem details.

Services raise `RegistryError` subclasses; FastAPI's own validation errors and
Starlette's 404/405 go through the same renderer, so every error a client sees is
`application/problem+json` with `type`, `title`, `status`, `detail` and, for
validation, `errors` naming each field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://qcr.example.org/problems/"


class RegistryError(Exception):
    """An error a client sees: its class names the status, title and problem type,
    and `body()` / `response()` are the only builders of problem details."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}  # RFC 9457 extension members

    @property
    def type(self) -> str:
        return TYPE_BASE + self.slug

    def body(self) -> dict[str, Any]:
        """The problem object (RFC 9457)."""
        body: dict[str, Any] = self.extra | {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The problem as an `application/problem+json` response."""
        return Response(
            orjson.dumps(self.body()),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=self.headers | (headers or {}),
        )


class Unauthorized(RegistryError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(RegistryError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(RegistryError):
    status, title, slug = 404, "Not found", "not-found"


class MethodNotAllowed(RegistryError):
    status, title, slug = 405, "Method not allowed", "method-not-allowed"


class Conflict(RegistryError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(RegistryError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class Unprocessable(RegistryError):
    status, title, slug = 422, "Unprocessable content", "validation"


class PreconditionRequired(RegistryError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(RegistryError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class InternalError(RegistryError):
    status, title, slug = 500, "Internal error", "internal"


class Unavailable(RegistryError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class HttpError(RegistryError):
    """Any other status Starlette raises (its title is generic)."""

    title, slug = "Error", "error"

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        self.status = status


def invalid(field: str, message: str) -> Unprocessable:
    """A 422 naming one field."""
    return Unprocessable(f"{field}: {message}", errors=[{"field": field, "message": message}])


def field_name(loc: tuple[Any, ...]) -> str:
    """`("body", "violations", 0, "grade")` → `violations[0].grade`."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    return name or str(loc[0] if loc else "body")


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    # pydantic prefixes messages from our validators with "Value error, "
    return message.removeprefix("Value error, ")


async def _registry_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    return exc.response()


def validation_problem(errors: list[dict[str, str]]) -> Unprocessable:
    """A 422 naming several fields (the detail names the first five)."""
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Unprocessable(detail, errors=errors)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    methods = route_methods(request.app.routes, request.url.path)
    if methods and request.method not in methods:
        # `PUT /v1/measures/unacknowledged` reached `PUT /v1/measures/{id}` and failed
        # its `id`: the path names a resource of its own, which has no PUT.
        allow = ", ".join(sorted(methods))
        detail = f"{request.method} is not allowed here; allowed: {allow}"
        return MethodNotAllowed(detail, headers={"Allow": allow}).response()
    errors = [
        {"field": field_name(tuple(e.get("loc", ()))), "message": _validation_message(e)}
        for e in exc.errors()
    ]
    return validation_problem(errors).response()


_STARLETTE_ERRORS: dict[int, type[RegistryError]] = {
    401: Unauthorized,
    404: NotFound,
    405: MethodNotAllowed,
}


def route_methods(routes: Sequence[BaseRoute], path: str) -> set[str]:
    """Every method the most specific routes of `path` answer (SPEC §8): those with
    the longest literal text after their last parameter, a literal path first.
    `/v1/measures/unacknowledged` is its own resource, not a `{id}`; `…/L1/codes`
    is the batch's codes, not a lot "L1/codes" (that one comes as `L1%2Fcodes`).
    Starlette's own `Allow` names only the first route that matched the path:
    `/01/{code}` has a GET route and a POST route, and a DELETE there was told
    `Allow: GET`."""
    found: dict[int, set[str]] = {}
    for context in iter_route_contexts(routes):  # included routers too
        regex = getattr(context, "path_regex", None)
        if context.methods and regex is not None and regex.match(path):
            template = str(getattr(context, "path_format", ""))
            literal = len(template) - template.rfind("}") - 1 if "}" in template else 1 << 16
            found.setdefault(literal, set()).update(context.methods)
    return found[max(found)] if found else set()


def allowed_methods(request: Request) -> str:
    """The `Allow` of a 405 at the request's path."""
    return ", ".join(sorted(route_methods(request.app.routes, request.url.path)))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI and Starlette answer 400 for a body they cannot parse (JSON that
        # is not UTF-8, a broken multipart form); SPEC §8 makes malformed input a 422.
        message = exc.detail if isinstance(exc.detail, str) else "the body could not be parsed"
        return invalid("body", message).response()
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    kind = _STARLETTE_ERRORS.get(exc.status_code)
    if kind is None:
        detail = exc.detail if isinstance(exc.detail, str) else HttpError.title
        return HttpError(exc.status_code, detail, headers).response()
    detail = exc.detail if isinstance(exc.detail, str) else kind.title
    return kind(detail, headers=headers).response()


# SQLSTATEs of a connection that is gone: connection exceptions (class 08),
# administrator or crash shutdown, starting up.
_BROKEN_STATES = ("08", "57P01", "57P02", "57P03")
# And of a database that cannot serve now: too many connections, and contention,
# which is never the client's error: a lock wait past lock_timeout (55P03), a
# serialization failure (40001) or a deadlock (40P01) — retry later.
_UNAVAILABLE_STATES = (*_BROKEN_STATES, "53300", "55P03", "40001", "40P01")


def is_unavailable(exc: Exception) -> bool:
    """The database (or the pool) cannot be reached: retry later, not a bug."""
    if is_broken_connection(exc):
        return True
    if isinstance(exc, (OperationalError, InterfaceError, TimeoutError, PoolTimeout)):
        return True
    if _sqlstate(exc).startswith(_UNAVAILABLE_STATES):
        return True
    if isinstance(exc, DBAPIError):
        orig = getattr(exc, "orig", None)
        name = type(getattr(orig, "__cause__", None) or orig).__name__
        return any(k in name for k in ("Connection", "CannotConnect", "AdminShutdown", "Timeout"))
    return False


def is_broken_connection(exc: BaseException) -> bool:
    """The connection under the request cannot be used again: the server closed
    it or went away (class 08, 57P01-57P03), or the raw driver's protocol was left
    mid-operation by such an error ("another operation is in progress"). Such a
    connection is discarded, never put back in the pool."""
    if isinstance(exc, (asyncpg.InternalClientError, OSError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):  # not a bad argument (DataError)
        return any(k in str(exc) for k in ("closed", "another operation is in progress"))
    if _sqlstate(exc).startswith(_BROKEN_STATES):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# Contention: a deadlock, a serialisation failure, a lock wait or a statement
# that ran past its timeout. Never the client's fault, never a bug: retry later.
CONTENTION_STATES = frozenset({"40P01", "40001", "55P03", "57014"})


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a driver error, raw or wrapped by SQLAlchemy ("" if none)."""
    return _sqlstate(exc)


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a driver error, raw (hot paths) or wrapped by SQLAlchemy."""
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return str(state or "")


async def _database_error(_: Request, exc: Exception) -> Response:
    # Connection refused, server shutting down, pool exhausted: a 503 the client
    # can retry, never a 500. The driver's message may contain data; it is not echoed.
    if _sqlstate(exc).startswith("22"):
        # A data exception (a value out of range, text the database cannot store)
        # that validation let through: the input is at fault, and the request's
        # transaction is rolled back like any other refusal.
        message = f"a value could not be stored (SQLSTATE {_sqlstate(exc)})"
        return Unprocessable(message, errors=[{"field": "body", "message": message}]).response()
    if _sqlstate(exc) in CONTENTION_STATES:
        return Unavailable(
            "the database is busy with concurrent writes; retry shortly",
            headers={"Retry-After": "1"},
        ).response()
    if not is_unavailable(exc):
        return InternalError("an unexpected database error occurred").response()
    return Unavailable(
        "the database is unavailable; retry shortly", headers={"Retry-After": "2"}
    ).response()


def install(app: FastAPI) -> None:
    app.add_exception_handler(RegistryError, _registry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # asyncpg's own errors reach here from the hot paths' raw driver connection.
    database_errors = (DBAPIError, OSError, TimeoutError, PoolTimeout)
    raw = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    for kind in (*database_errors, *raw):
        app.add_exception_handler(kind, _database_error)
