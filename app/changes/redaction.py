"""What partners may read of a change event is decided when it is read (SPEC §5).

The feed is append-only and an event's data was public when it was written; a
domain above (records: violations past their publication period) registers a
redactor at import, and the feed passes every page through each one. The
stored event never changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from app.core.database import Reader

Events = list[tuple[str, dict[str, Any]]]
Redactor = Callable[[Reader, Events], Awaitable[list[dict[str, Any]]]]
_REDACTORS: list[Redactor] = []


class Event(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


def register_redactor(redactor: Redactor) -> None:
    """Have the feed pass every page of `(type, data)` through `redactor`."""
    if redactor not in _REDACTORS:
        _REDACTORS.append(redactor)


async def readable(session: Reader, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Each event's data as the feed serves it today."""
    data = [dict(event.data) for event in events]
    for redactor in _REDACTORS:
        data = await redactor(session, [(e.type, d) for e, d in zip(events, data, strict=True)])
    return data
