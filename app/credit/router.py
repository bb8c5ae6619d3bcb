from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from app.auth import guards
from app.auth.dependencies import EnterpriseOrRegulator, Idempotent, Partner, Regulator
from app.core.database import DbSession, PrimaryRead
from app.core.errors import Forbidden
from app.core.hotroute import OPTIONAL_KEY, HotRoute, path_parameter, query_parameter
from app.core.idempotency import Created
from app.core.routing import AutoCommitRoute, created, responses
from app.credit import lookup, repairs
from app.credit.schemas import (
    BatchRequest,
    BatchResponse,
    CreditOut,
    RepairCreate,
    RepairDecision,
    RepairOut,
)
from app.organizations import service as organization_service
from app.organizations.types import CODE_DOC, CODE_SCHEMA, CodePath
from app.policy import policy

router = APIRouter(tags=["credit"], route_class=AutoCommitRoute)

# The current credit lookup: a hot route, answered by `lookup.credit_lookup` alone.
CREDIT_LOOKUP = HotRoute(
    "/v1/organizations/{code}/credit",
    lookup.credit_lookup,
    methods=["GET"],
    tags=["credit"],
    response_model=CreditOut,
    responses=responses(401, 404, 422, 429),
    openapi_extra=OPTIONAL_KEY
    | {
        "parameters": [
            path_parameter("code", CODE_DOC, "91110000600037341L", 64, CODE_SCHEMA),
            query_parameter(
                "as_of", "valid date (default: today)", {"type": "string", "format": "date"}
            ),
            query_parameter(
                "known_at",
                "recording time: only what the registry had stored by then counts",
                {"type": "string", "format": "date-time"},
            ),
        ]
    },
)


@router.post("/v1/credit/batch", response_model=BatchResponse, responses=responses(401, 403, 422))
async def credit_batch(body: BatchRequest, request: Request, principal: Partner) -> Response:
    """Credit of up to 1000 codes in request order; a bad code gets its own error."""
    return await lookup.credit_batch(request, principal, body.codes, body.as_of)


def _repair_out(repair: Any, uscc: str) -> RepairOut:
    return RepairOut.model_validate(
        {c: getattr(repair, c) for c in RepairOut.model_fields if c != "uscc"} | {"uscc": uscc}
    )


@router.post("/v1/organizations/{code}/repairs", **created(RepairOut, 401, 403, 404, 409, 422))
async def request_repair(
    code: CodePath,
    body: RepairCreate,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    idempotency: Idempotent,
) -> Response:
    """Request credit repair for one violation (the enterprise itself, or a regulator)."""

    async def make() -> Created:
        org = await organization_service.find(session, code)
        repair = await repairs.request(session, principal, org, body.violation_id, body.reason)
        return Created(_repair_out(repair, org.uscc), location=f"/v1/repairs/{repair.id}")

    return await idempotency.create(make)


@router.get("/v1/repairs/{id}", responses=responses(401, 403, 404, 422))
async def get_repair(
    id: uuid.UUID, session: PrimaryRead, principal: EnterpriseOrRegulator
) -> RepairOut:
    """One repair request (regulators, and the enterprise it concerns)."""
    repair, org = await repairs.find(session, id)
    if not (principal.is_regulator or principal.owns(org.uscc)):
        raise Forbidden("this repair request concerns another organization")
    return _repair_out(repair, org.uscc)


@router.post(
    "/v1/repairs/{id}/decision",
    response_model=RepairOut,
    responses={
        202: {"description": "Four eyes: the pending approval (`Location: /v1/approvals/{id}`)"},
        **responses(401, 403, 404, 409, 422),
    },
)
async def decide_repair(
    id: uuid.UUID, body: RepairDecision, session: DbSession, principal: Regulator
) -> Any:
    """Approve or reject a repair request, with a reason (four eyes: `202` and the approval)."""
    decided = await repairs.decide(session, principal, id, body.decision, body.reason)
    if not isinstance(decided, tuple):
        return guards.accepted(decided)
    repair, org = decided
    return _repair_out(repair, org.uscc)


__all__ = ["policy", "router"]
