"""Recall effectiveness endpoints."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response

from app.auth.dependencies import EnterpriseOrRegulator, rate_limit
from app.codes.context import CodeSecret
from app.core.database import DbSession, PrimaryRead
from app.core.routing import AutoCommitRoute, responses
from app.recalls import service
from app.recalls.schemas import Effectiveness, ProgressCreate, ProgressOut, ReturnCreate

router = APIRouter(tags=["recalls"], route_class=AutoCommitRoute)
ReturnLimit = Depends(rate_limit("feedback", lambda s: s.rate_limit_feedback))


@router.post(
    "/v1/recalls/{id}/progress",
    status_code=201,
    response_model=ProgressOut,
    responses=responses(401, 403, 404, 422),
)
async def record_progress(
    id: uuid.UUID,
    body: ProgressCreate,
    response: Response,
    session: DbSession,
    principal: EnterpriseOrRegulator,
) -> ProgressOut:
    """Record a progress report: units distributed and corrected per level, and
    notifications by channel (the producer's own recall, or a regulator)."""
    progress = await service.record_progress(session, principal, id, body)
    response.headers["Location"] = f"/v1/recalls/{id}/effectiveness"
    return ProgressOut.model_validate(progress)


@router.get(
    "/v1/recalls/{id}/effectiveness",
    response_model=Effectiveness,
    responses=responses(401, 403, 404, 422),
)
async def get_effectiveness(
    id: uuid.UUID, session: PrimaryRead, principal: EnterpriseOrRegulator
) -> Effectiveness:
    """Correction rates of the latest report, whether the recall is overdue, and the
    serial-level evidence: recalled items scanned after the recall began, and
    consumers' "I returned it" confirmations."""
    return await service.effectiveness(session, principal, id)


@router.post(
    "/v1/recalls/{id}/returns",
    status_code=204,
    response_class=Response,
    dependencies=[ReturnLimit],
    responses=responses(403, 404, 422, 429),
)
async def confirm_return(
    id: uuid.UUID, body: ReturnCreate, session: DbSession, secret: CodeSecret
) -> Response:
    """A consumer's "I returned it" for a recalled item, by its item code (anonymous,
    rate limited; a repeat changes nothing)."""
    await service.confirm_return(session, id, body.gtin, body.lot, body.serial, secret)
    return Response(status_code=204)
