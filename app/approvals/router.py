"""Approvals over HTTP (SPEC §9): regulators read them; a second official decides."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from app.approvals import service
from app.auth.dependencies import Regulator
from app.core.database import DbSession, PrimaryRead
from app.core.errors import invalid
from app.core.pagination import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor
from app.core.routing import AutoCommitRoute, responses
from app.core.types import trimmed

router = APIRouter(tags=["four eyes"], route_class=AutoCommitRoute)


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    reason: Annotated[str, trimmed(min_length=1, max_length=4000)]


@router.get("/v1/approvals", responses=responses(401, 403, 422))
async def list_approvals(
    session: PrimaryRead,
    _: Regulator,
    status: Literal["pending", "approved", "rejected"] | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Approvals, oldest first, then id (regulators)."""
    key = decode_cursor(cursor, 2)
    after = None
    if key is not None:
        try:
            after = (dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
    rows = await service.listing(session, status=status, after=after, limit=limit)
    more = (
        encode_cursor([rows[-1].proposed_at.isoformat(), str(rows[-1].id)])
        if len(rows) == limit
        else None
    )
    return {"items": [service.as_json(a) for a in rows], "next_cursor": more}


@router.get("/v1/approvals/{id}", responses=responses(401, 403, 404, 422))
async def get_approval(id: uuid.UUID, session: PrimaryRead, _: Regulator) -> dict[str, Any]:
    """One approval (regulators)."""
    return service.as_json(await service.find(session, id))


@router.post("/v1/approvals/{id}/decision", responses=responses(401, 403, 404, 409, 422))
async def decide_approval(
    id: uuid.UUID, body: ApprovalDecision, session: DbSession, principal: Regulator
) -> dict[str, Any]:
    """A second official approves (the act runs: its answer is `result`) or rejects."""
    approval, result = await service.decide(session, principal, id, body.decision, body.reason)
    return {"approval": service.as_json(approval), "result": result}
