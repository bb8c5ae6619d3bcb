"""Whether records are under objection (disputed, SPEC §9), for the record views.

Objections live above records (app/dueprocess), which registers the provider at
start-up; without one nothing is disputed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from app.core.database import Reader

# (session, record type as in objections, record ids) -> the disputed ones
DisputedProvider = Callable[[Reader, str, Sequence[uuid.UUID]], Awaitable[set[uuid.UUID]]]

_provider: DisputedProvider | None = None

# The record kinds' names in objections (SPEC §9 says `grade`).
OBJECTION_TYPE = {"grade_assessment": "grade"}


def register(provider: DisputedProvider | None) -> None:
    global _provider
    _provider = provider


async def disputed(session: Reader, kind_name: str, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if _provider is None or not ids:
        return set()
    return await _provider(session, OBJECTION_TYPE.get(kind_name, kind_name), ids)
