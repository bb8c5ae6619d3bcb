"""`/v1/signals` and `/v1/signal-rules` (regulators; the rules are public data)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.auth.dependencies import Regulator
from app.core.database import DbSession, ReadSession
from app.core.errors import NotFound, invalid
from app.core.filters import where_given
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, responses
from app.signals import rules, service
from app.signals.explain import explain
from app.signals.models import Signal
from app.signals.schemas import SignalExplained, SignalOut, SignalTransition, Status

router = APIRouter(tags=["signals"], route_class=AutoCommitRoute)


def view(signal: Signal) -> SignalOut:
    return SignalOut.model_validate(signal, from_attributes=True)


def explained(signal: Signal) -> SignalExplained:
    zh, en = explain(signal)
    return SignalExplained(**view(signal).model_dump(), explanation_zh=zh, explanation_en=en)


@router.get("/v1/signal-rules")
async def signal_rules() -> dict[str, Any]:
    """Every version of the detectors' parameters, oldest first."""
    return {"items": rules.VERSIONS}


@router.get("/v1/signals", responses=responses(401, 403, 422))
async def list_signals(
    session: ReadSession,
    _: Regulator,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    region: Annotated[str | None, Query(min_length=4, max_length=4, pattern=r"^\d{4}$")] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[SignalOut]:
    """Signals, most severe first, then newest day, then id."""
    statement = where_given(
        select(Signal).order_by(Signal.level, Signal.day.desc(), Signal.id),
        (Signal.level, level),
        (Signal.region, region),
        (Signal.category, category),
        (Signal.status, status),
    )
    if (key := decode_cursor(cursor, 3)) is not None:
        try:
            lvl, day, id = int(key[0]), dt.date.fromisoformat(str(key[1])), uuid.UUID(str(key[2]))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
        statement = statement.where(
            (Signal.level > lvl)
            | ((Signal.level == lvl) & (Signal.day < day))
            | ((Signal.level == lvl) & (Signal.day == day) & (Signal.id > id))
        )
    rows = (await session.scalars(statement.limit(limit + 1))).all()
    items = [view(s) for s in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([last.level, last.day.isoformat(), str(last.id)])
    return Page(items=items, next_cursor=next_cursor)


@router.get("/v1/signals/{id}", responses=responses(401, 403, 404, 422))
async def get_signal(id: uuid.UUID, session: ReadSession, _: Regulator) -> SignalExplained:
    """One signal with what it compared and why it was raised, in Chinese and English."""
    signal = await session.get(Signal, id)
    if signal is None:
        raise NotFound(f"no signal {id}")
    return explained(signal)


@router.post("/v1/signals/{id}/transitions", responses=responses(401, 403, 404, 409, 422))
async def move_signal(
    id: uuid.UUID, body: SignalTransition, session: DbSession, principal: Regulator
) -> SignalExplained:
    """Triage, escalate, dismiss (with a reason) or close; a move out of order is 409."""
    return explained(await service.move(session, principal, id, body))
