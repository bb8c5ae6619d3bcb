"""The change feed partners follow to keep a copy in sync (SPEC §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.auth.dependencies import Partner
from app.changes import redaction
from app.changes.models import ChangeEvent
from app.changes.schemas import ChangeOut
from app.core.database import PrimaryRead
from app.core.errors import invalid
from app.core.pagination import DEFAULT_LIMIT, CursorParam, Limit, Page
from app.core.routing import AutoCommitRoute, responses
from app.journal.models import FeedSeq

router = APIRouter(tags=["changes"], route_class=AutoCommitRoute)
MAX_SEQ = 2**62


def _position(after: int, cursor: str | None) -> int:
    """The seq to read after: the cursor's when given (a seq, as `next_cursor` is)."""
    if cursor is None:
        return after
    if not cursor.isascii() or not cursor.isdigit() or int(cursor) > MAX_SEQ:
        raise invalid("cursor", "is not a cursor this feed issued (`next_cursor`)")
    if after and int(cursor) != after:
        raise invalid("cursor", "give `cursor` or `after`, not two different positions")
    return int(cursor)


@router.get("/v1/changes", responses=responses(401, 403, 422))
async def list_changes(
    session: PrimaryRead,
    _: Partner,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="the last seq already read")] = 0,
    cursor: CursorParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ChangeOut]:
    """The change feed, in seq order after `after` (exclusive): sequenced events
    only, so an event that committed late is never skipped. It pages like every
    list, with `cursor=<next_cursor>`; `after=<seq>` does the same (the
    `next_cursor` is the last seq of the page)."""
    after = _position(after, cursor)
    rows = (
        await session.execute(
            select(
                FeedSeq.seq, ChangeEvent.type, ChangeEvent.uscc, ChangeEvent.at, ChangeEvent.data
            )
            .join(ChangeEvent, ChangeEvent.id == FeedSeq.event_id)
            .where(FeedSeq.seq > after)
            .order_by(FeedSeq.seq)
            .limit(limit)
        )
    ).all()
    # Violations past their publication period are redacted as of today (SPEC §5).
    data = await redaction.readable(session, rows)
    items = [
        ChangeOut(seq=r.seq, type=r.type, uscc=r.uscc, at=r.at, data=d)
        for r, d in zip(rows, data, strict=True)
    ]
    return Page(items=items, next_cursor=str(items[-1].seq) if len(items) == limit else None)
