"""Appending change events, in the writing transaction, in commit order.

Listeners registered at start-up (`add_listener`) run after each append, in the
same transaction: the webhook outbox is one (app/partners/outbox.py). The writer
never imports a listener, so changes knows nothing of partners.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit import service as audit_service
from app.changes.models import ChangeEvent
from app.core.database import db_now

Listener = Callable[[AsyncSession, Sequence[ChangeEvent]], Awaitable[None]]
_listeners: list[Listener] = []


def add_listener(listener: Listener) -> None:
    """Run `listener` after every append, in the writer's transaction (once per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def _notify(session: AsyncSession, events: Sequence[ChangeEvent]) -> None:
    for listener in _listeners:
        await listener(session, events)


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
    await _notify(session, [event])
    return event


async def emit_many(
    session: AsyncSession, events: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[ChangeEvent]:
    """Append `(type, uscc, data)` events with consecutive seqs in one statement
    (a publication's thousands of list entries and exits)."""
    if not events:
        return []
    await audit_service.lock_chain(session)
    last = int(await session.scalar(select(func.max(ChangeEvent.seq))) or 0)
    at = await db_now(session)
    made = [
        ChangeEvent(seq=last + i, type=type, uscc=uscc, at=at, data=chain.jsonable(data))
        for i, (type, uscc, data) in enumerate(events, start=1)
    ]
    await session.execute(
        insert(ChangeEvent),
        [{"seq": e.seq, "type": e.type, "uscc": e.uscc, "at": e.at, "data": e.data} for e in made],
    )
    await _notify(session, made)
    return made
