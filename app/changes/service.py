"""Appending change events, in the writing transaction, in commit order."""

from __future__ import annotations

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
