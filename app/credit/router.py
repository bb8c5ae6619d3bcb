from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import Caller, EnterpriseOrRegulator, Idempotent, Partner, Regulator
from app.core.clock import today
from app.core.database import DbSession, ReadSession
from app.core.errors import Forbidden, NotFound, invalid
from app.core.fastpath import json_response
from app.core.idempotency import Created
from app.core.principal import Principal
from app.core.routing import AutoCommitRoute, responses
from app.core.settings import get_settings
from app.credit import history, repairs
from app.credit import service as credit_service
from app.credit.models import CreditStatus
from app.credit.schemas import (
    BatchRequest,
    BatchResponse,
    CreditOut,
    RepairCreate,
    RepairDecision,
    RepairOut,
)
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.types import CodePath
from app.policy import policy

router = APIRouter(tags=["credit"], route_class=AutoCommitRoute)

AsOf = Annotated[dt.date | None, Query(description="valid date (default: today)")]
KnownAt = Annotated[
    dt.datetime | None,
    Query(description="recording time: only what the registry had stored by then counts"),
]


def _from_status(s: CreditStatus) -> dict[str, Any]:
    return {
        "uscc": s.uscc,
        "grade": s.grade,
        "assessed_grade": s.assessed_grade,
        "a_level": s.a_level,
        "red_list": s.red_list,
        "black_list": s.black_list,
        "reasons": s.reasons,
        "policy_version": s.policy_version,
        "as_of": s.as_of,
        "holds_until": s.holds_until,
        "listed_since": s.listed_since,
        "expected_exit": s.expected_exit,
        "updated_at": s.updated_at,
    }


def _from_evaluated(e: credit_service.Evaluated) -> dict[str, Any]:
    r = e.result
    return {
        "uscc": e.uscc,
        "grade": r.grade,
        "assessed_grade": r.assessed_grade,
        "a_level": r.a_level,
        "red_list": r.red_list,
        "black_list": r.black_list,
        "reasons": e.reasons,
        "policy_version": r.policy_version,
        "as_of": r.as_of,
        "holds_until": r.holds_until,
        "listed_since": e.listed_since,
        "expected_exit": r.expected_exit,
        "updated_at": None,
    }


def public_view(principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    """The credit fields as this caller may see them."""
    if not principal.is_regulator:
        fields = fields | {"reasons": credit_service.public_reasons(fields["reasons"], today())}
    else:
        fields = fields | {
            "reasons": [
                {k: v for k, v in r.items() if k != "published_until"} for r in fields["reasons"]
            ]
        }
    return fields


def _check_dates(as_of: dt.date | None, known_at: dt.datetime | None) -> dt.datetime | None:
    if as_of is not None and as_of > today():
        raise invalid("as_of", f"is after today ({today().isoformat()}): the future is not known")
    if known_at is None:
        return None
    if known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=get_settings().zone)
    if known_at > dt.datetime.now(dt.UTC):
        raise invalid("known_at", "is in the future")
    return known_at


@router.get(
    "/v1/organizations/{code}/credit", response_model=CreditOut, responses=responses(401, 404, 422)
)
async def get_credit(
    code: CodePath,
    request: Request,
    session: ReadSession,
    principal: Caller,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Any:
    """The computed grade, A-level, list membership and every reason, now or as of a date."""
    moment = _check_dates(as_of, known_at)
    if as_of is None and moment is None:
        pool = request.app.state.database.fast_pool
        fields = await credit_service.fetch_current(session, code, pool)
        if fields is not None:
            return json_response(public_view(principal, fields) | {"known_at": None})
    org = await organization_service.find(session, code)
    if as_of is None and moment is None:  # missing or past its edge
        has_replica = request.app.state.database.has_replica
        status = await credit_service.current_for_read(session, org, store=not has_replica)
        return public_view(principal, _from_status(status))
    on = as_of or today()
    if moment is not None:
        found = await history.known_at(session, {org.id: org.uscc}, moment)
        if org.id not in found:
            raise NotFound(f"the registry did not know {org.uscc} at {moment.isoformat()}")
        hist = found[org.id]
    else:
        hist = (await history.current(session, {org.id: org.status}))[org.id]
    fields = _from_evaluated(credit_service.evaluate(org.id, org.uscc, hist, on))
    return public_view(principal, fields | {"known_at": moment})


@router.post("/v1/credit/batch", response_model=BatchResponse, responses=responses(401, 403, 422))
async def credit_batch(
    body: BatchRequest, request: Request, session: ReadSession, principal: Partner
) -> Any:
    """Credit of up to 1000 codes in request order; a bad code gets its own error."""
    as_of = body.as_of
    _check_dates(as_of, None)
    parsed: list[str | dict[str, Any]] = []
    for raw in body.codes:
        try:
            parsed.append(codes.parse_code(raw).value)
        except codes.InvalidCode as exc:
            parsed.append(invalid("code", str(exc)).body())
    wanted = [p for p in parsed if isinstance(p, str)]
    on = as_of or today()
    rows = (
        await credit_service.fetch_many(session, wanted, request.app.state.database.fast_pool)
        if wanted
        else []
    )
    by_code: dict[str, uuid.UUID] = {}
    fields: dict[uuid.UUID, dict[str, Any]] = {}
    stale: dict[uuid.UUID, Any] = {}
    for row in rows:
        by_code[row["uscc"]] = by_code[row["org_code"]] = row["id"]
        if (
            as_of is None
            and row["grade"] is not None
            and not credit_service.past_edge(row["holds_until"], on)
        ):
            values = {f: row[f] for f in credit_service.CREDIT_FIELDS}
            values["reasons"] = orjson.loads(values["reasons"])
            fields[row["id"]] = values
        else:
            stale[row["id"]] = row
    if stale:  # a past as_of, or statuses past their edge: evaluated, not stored
        histories = await history.current(session, {i: r["org_status"] for i, r in stale.items()})
        for org_id, hist in histories.items():
            uscc = stale[org_id]["uscc"]
            fields[org_id] = _from_evaluated(credit_service.evaluate(org_id, uscc, hist, on))
    results: list[dict[str, Any]] = []
    for raw, item in zip(body.codes, parsed, strict=True):
        if isinstance(item, dict):
            results.append({"code": raw, "error": item})
        elif item not in by_code:
            results.append(
                {
                    "code": raw,
                    "error": NotFound(f"no organization with code {item}").body(),
                }
            )
        else:
            results.append({"code": raw} | public_view(principal, fields[by_code[item]]))
    return json_response({"results": results})


def _repair_out(repair: Any, uscc: str) -> RepairOut:
    return RepairOut.model_validate(
        {c: getattr(repair, c) for c in RepairOut.model_fields if c != "uscc"} | {"uscc": uscc}
    )


@router.post(
    "/v1/organizations/{code}/repairs",
    status_code=201,
    response_class=Response,
    responses={
        201: {"model": RepairOut, "description": "Created"},
        **responses(401, 403, 404, 409, 422),
    },
)
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
    id: uuid.UUID, session: DbSession, principal: EnterpriseOrRegulator
) -> RepairOut:
    """One repair request (regulators, and the enterprise it concerns)."""
    repair, org = await repairs.find(session, id)
    if not (principal.is_regulator or principal.owns(org.uscc)):
        raise Forbidden("this repair request concerns another organization")
    return _repair_out(repair, org.uscc)


@router.post("/v1/repairs/{id}/decision", responses=responses(401, 403, 404, 409, 422))
async def decide_repair(
    id: uuid.UUID, body: RepairDecision, session: DbSession, principal: Regulator
) -> RepairOut:
    """Approve or reject a repair request, with a reason."""
    repair, org = await repairs.decide(session, principal, id, body.decision, body.reason)
    return _repair_out(repair, org.uscc)


__all__ = ["policy", "router"]
