"""Appending change events, in the writing transaction, in commit order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit import service as audit_service
from app.changes.models import ChangeEvent
from app.core.database import db_now


async def emit(session: AsyncSession, type: str, uscc: str, data: dict[str, Any]) -> ChangeEvent:
    """Append one event. The audit chain's lock orders `seq` by commit, so a
    partner reading `after=N` never misses an event committed later with a lower seq."""
    await audit_service.lock_chain(session)
    last = await session.scalar(select(func.max(ChangeEvent.seq)))
    event = ChangeEvent(
        seq=(last or 0) + 1,
        type=type,
        uscc=uscc,
        at=await db_now(session),
        data=chain.jsonable(data),
    )
    session.add(event)
    await session.flush()
    return event


# What partners may read of an event is decided when it is read: a domain above
# (records: violations past their publication period) registers a redactor at
# import, and the feed applies every one. The stored event never changes.
Events = list[tuple[str, dict[str, Any]]]
Redactor = Callable[[AsyncSession, Events], Awaitable[list[dict[str, Any]]]]
_REDACTORS: list[Redactor] = []


def register_redactor(redactor: Redactor) -> None:
    """Have the feed pass every page of `(type, data)` through `redactor`."""
    if redactor not in _REDACTORS:
        _REDACTORS.append(redactor)


async def readable(session: AsyncSession, events: list[ChangeEvent]) -> list[dict[str, Any]]:
    """Each event's data as the feed serves it today."""
    data = [event.data for event in events]
    for redactor in _REDACTORS:
        data = await redactor(session, [(e.type, d) for e, d in zip(events, data, strict=True)])
    return data
