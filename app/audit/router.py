from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.audit.schemas import AuditEntryOut
from app.auth.dependencies import Regulator
from app.core.database import DbSession
from app.core.errors import invalid
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, responses

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=AutoCommitRoute)


@router.get("", responses=responses(401, 403, 422))
async def list_audit_entries(
    session: DbSession,
    _: Regulator,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AuditEntryOut]:
    """The audit trail, newest first, optionally for one entity."""
    statement = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    if entity:
        statement = statement.where(AuditEntry.entity == entity)
    if id:
        statement = statement.where(AuditEntry.entity_id == id)
    key = decode_cursor(cursor, 1)
    if key:
        if not isinstance(key[0], int) or not 0 <= key[0] < 2**63:
            raise invalid("cursor", "is not a cursor this service issued")
        statement = statement.where(AuditEntry.seq < key[0])
    rows = (await session.scalars(statement)).all()
    items = [AuditEntryOut.model_validate(r) for r in rows[:limit]]
    next_cursor = encode_cursor([items[-1].seq]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)
