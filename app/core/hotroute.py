"""Hot routes: the few reads that carry most of the traffic, answered by one plain
function `(request) -> Response` (STYLE 19, "one place per answer").

A `HotRoute` is an `APIRoute` for everything the OpenAPI document sees (path,
parameters, response model, security, problem responses), but a request to it
runs the endpoint directly: no dependency solving, no FastAPI parameter
validation, no response encoding. The endpoint validates what it reads with the
same types as the other routes, and raises `RegistryError`s, which the app's
exception handlers render as for any route (503 + Retry-After for a database
that is down included). `install` puts hot routes ahead of every other route,
so that they are matched first.

`HotApp` then gives them a door of their own: a GET (or HEAD) without a body
that a hot route matches runs through the app's layers less those with nothing
to do for it — the body bound (no body), HEAD-as-GET (a hot route answers its
own methods), FastAPI's exit stack (no dependency) and the router's walk (the
route is matched at the door). Everything else is as for any request: the same
error handlers (ServerErrorMiddleware's 500, ExceptionMiddleware's problems),
CORS, the request id, log line, metrics and security headers, the text guard of
path and query. A layer says it may be skipped with `HOT_LANE = False`.

Because no dependency runs, the request's sessions come from `request_session`
and `read_session` below, which honour the app's dependency overrides exactly
as `DbSession`/`ReadSession` do (the tests put their rolled-back session there).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core import fastpath
from app.core.bodylimit import bodiless_read
from app.core.database import HotPool, Reader, database_of, discarding_broken, get_session
from app.core.errors import validation_problem

Answer = Callable[[Request], Awaitable[Response]]


class HotRoute(APIRoute):
    """An operation described like any other, answered by `endpoint(request)` alone."""

    def __init__(self, path: str, endpoint: Answer, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        answer = endpoint

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await answer(Request(scope, receive, send))
            # One turn of the event loop before answering. An answer from memory
            # (a cache hit) otherwise runs from request to response without
            # yielding once, and under uvloop at full load such requests waited
            # their turn unevenly: credit lookups from the answer cache had a p99
            # of 120-180 ms at 4,300-4,900 requests/s; with this turn, 17-47 ms at
            # 5,800 (64 clients; the same with the default asyncio loop without it).
            await asyncio.sleep(0)
            await response(scope, receive, send)

        self.app = app


def install(app: FastAPI, *routes: HotRoute) -> None:
    """Mount hot routes ahead of every other route (first match wins)."""
    for route in reversed(routes):
        app.router.routes.insert(0, route)


class HotApp(FastAPI):
    """FastAPI with a door of its own for the hot routes (see the module docstring)."""

    def build_middleware_stack(self) -> ASGIApp:
        every = super().build_middleware_stack()
        routes = [route for route in self.router.routes if isinstance(route, HotRoute)]
        if not routes:
            return every
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        lane: ASGIApp = ExceptionMiddleware(_answer, handlers=handlers, debug=self.debug)
        for middleware in reversed(self.user_middleware):
            if getattr(middleware.cls, "HOT_LANE", True):
                lane = middleware.cls(lane, *middleware.args, **middleware.kwargs)
        lane = ServerErrorMiddleware(lane, handler=error_handler, debug=self.debug)
        return _HotDoor(every, lane, routes, self.router)


class _HotDoor:
    def __init__(self, every: ASGIApp, lane: ASGIApp, routes: list[HotRoute], router: Any) -> None:
        self.every, self.lane, self.routes, self.router = every, lane, routes, router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and bodiless_read(scope):
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    scope.setdefault("router", self.router)
                    await self.lane(scope, receive, send)
                    return
        await self.every(scope, receive, send)


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    """The innermost layer of the hot lane: the route matched at the door."""
    await scope["route"].handle(scope, receive, send)


def path_parameter(
    name: str,
    description: str,
    example: str,
    max_length: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "title": name.title()}
    if max_length is not None:
        schema["maxLength"] = max_length
    schema.update(extra or {})
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
        "example": example,
    }


def query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema | {"title": name},
    }


@dataclass(frozen=True)
class IntegerParameter:
    """An integer path or query parameter of a hot route: described in the OpenAPI
    document and validated (by pydantic, with its messages) as FastAPI would."""

    name: str
    where: Literal["path", "query"]
    minimum: int
    maximum: int
    required: bool = True
    description: str | None = None
    _adapter: TypeAdapter[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bounded = Annotated[int, Field(ge=self.minimum, le=self.maximum)]
        object.__setattr__(self, "_adapter", TypeAdapter(bounded))

    def openapi(self) -> dict[str, Any]:
        bounds = {"maximum": self.maximum, "minimum": self.minimum, "type": "integer"}
        described = {"description": self.description} if self.description else {}
        schema: dict[str, Any] = (
            bounds if self.required else {"anyOf": [bounds, {"type": "null"}]}
        ) | described
        return {
            "name": self.name,
            "in": self.where,
            "required": self.required,
            **described,
            "schema": schema | {"title": self.name.replace("_", " ").title()},
        }

    def read(self, request: Request) -> tuple[int | None, str | None]:
        """(value, None), or (None, the message of why it is refused)."""
        source = request.path_params if self.where == "path" else request.query_params
        raw = source.get(self.name)
        if raw is None:
            return None, "Field required" if self.required else None
        try:
            return self._adapter.validate_python(raw), None
        except ValidationError as exc:
            return None, str(exc.errors()[0]["msg"])


def integers(request: Request, *parameters: IntegerParameter) -> list[int | None]:
    """The parameters' values, or one 422 naming every refused one."""
    values, errors = [], []
    for parameter in parameters:
        value, refused = parameter.read(request)
        values.append(value)
        if refused:
            errors.append({"field": parameter.name, "message": refused})
    if errors:
        raise validation_problem(errors)
    return values


# A public operation that reads an optional key (app/core/openapi.py adds the
# anonymous alternative, 401 and 429).
OPTIONAL_KEY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


@asynccontextmanager
async def request_session(request: Request, *, commit: bool = True) -> AsyncIterator[AsyncSession]:
    """The request's primary session, as `DbSession` gives it: committed (unless
    `commit` is false) when the block ends normally, before the response is built
    (STYLE 4); rolled back on error."""
    override: Any = request.app.dependency_overrides.get(get_session)
    provider = (
        asynccontextmanager(override)()
        if override
        else asynccontextmanager(get_session)(database_of(request))
    )
    async with provider as session:
        yield session
        if commit and session.in_transaction():
            await session.commit()


@asynccontextmanager
async def read_session(request: Request) -> AsyncIterator[Reader]:
    """The replica's session when there is one, else the request's primary session."""
    async with read_sessions(request) as (session, _):
        yield session


@asynccontextmanager
async def read_sessions(request: Request) -> AsyncIterator[tuple[Reader, AsyncSession | None]]:
    """The read session, and the primary's session when it is the same one (no
    replica): where a read may store what it recomputed."""
    database = database_of(request)
    if database.read_sessionmaker is None:
        async with request_session(request) as session:
            yield session, session
        return
    async with database.read_sessionmaker() as session, discarding_broken(session):
        yield session, None


@asynccontextmanager
async def primary_driver(request: Request) -> AsyncIterator[HotPool | Any]:
    """Where a hot read of the primary runs one prepared statement: the hot pool
    on the primary, or (no pool: tests) the request's own connection."""
    pool = database_of(request).primary_pool
    if pool is not None:
        yield pool
        return
    async with request_session(request, commit=False) as session:
        yield await fastpath.driver(session)
