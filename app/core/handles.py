"""What a running app holds for its routes, each under one typed handle.

A `Handle[T]` names one value of the app (its `Database`, its settings, a cache,
the scan buffer), is bound once at start-up (`create_app`, the lifespan) and read
through `of(request)`, typed `T`: routes and hot routes never read
`request.app.state` themselves. The value lives on `app.state` under the
handle's name, so a test may still replace it there (settings with a lower
rate limit, a fresh limiter).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Request
from starlette.applications import Starlette

T = TypeVar("T")


class Handle(Generic[T]):
    """One typed value of the app, bound at start-up; `kind` is checked on read."""

    def __init__(self, name: str, kind: type[Any]) -> None:
        self.name = name
        self.kind = kind

    def bind(self, app: Starlette, value: T) -> None:
        setattr(app.state, self.name, value)

    def get(self, app: Starlette) -> T | None:
        """The bound value, or None where the app has none (tests, an embedding)."""
        # `app.state._state` is the dict behind `app.state`: read without going
        # through State.__getattr__ (several handles are read on every request).
        value: Any = app.state._state.get(self.name)
        return value if isinstance(value, self.kind) else None

    def of(self, request: Request) -> T | None:
        return self.get(request.app)

    def required(self, request: Request) -> T:
        value = self.of(request)
        if value is None:
            raise RuntimeError(f"the app has no {self.name} bound (create_app binds it)")
        return value
