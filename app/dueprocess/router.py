"""Notices and objections over HTTP (SPEC §9). Notices are for the enterprise
(own key) and regulators only: never public."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Response
from sqlalchemy import select

from app.auth import guards
from app.auth.dependencies import EnterpriseOrRegulator, Idempotent, Regulator
from app.core.clock import today
from app.core.database import DbSession, PrimaryRead, Reader
from app.core.errors import NotFound, invalid
from app.core.idempotency import Created
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.principal import Principal
from app.core.routing import AutoCommitRoute, created, responses
from app.dueprocess import notices, objections
from app.dueprocess.models import Notice, Objection
from app.dueprocess.schemas import (
    DeliveryCreate,
    NoticeCreate,
    NoticeOut,
    ObjectionCreate,
    ObjectionDecision,
    ObjectionOut,
)
from app.organizations import service as organization_service
from app.organizations.types import CodePath

router = APIRouter(tags=["due process"], route_class=AutoCommitRoute)


def _after(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    try:
        return (dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
    except ValueError:
        raise invalid("cursor", "is not a cursor this service issued") from None


def _owned(principal: Principal, uscc: str, what: str) -> None:
    """An enterprise key sees its own organization's due process only (404 otherwise)."""
    if not (principal.is_regulator or principal.owns(uscc)):
        raise NotFound(what)


async def notice_out(session: Reader, notice: Notice) -> NoticeOut:
    disputed = await session.scalar(
        select(Objection.id).where(
            Objection.record_type == "notice",
            Objection.record_id == notice.id,
            Objection.status == "open",
        )
    )
    return NoticeOut.model_validate(
        {k: getattr(notice, k) for k in NoticeOut.model_fields if k != "disputed"}
        | {"disputed": disputed is not None}
    )


@router.post(
    "/v1/organizations/{code}/notices",
    **created(NoticeOut, 401, 403, 404, 409, 422, description="Served"),
)
async def serve_notice(
    code: CodePath,
    body: NoticeCreate,
    session: DbSession,
    principal: Regulator,
    idempotency: Idempotent,
) -> Response:
    """Serve the notice (事先告知) of the current episode by hand."""

    async def make() -> Created:
        org = await organization_service.find(session, code)
        notice = await notices.serve_by_hand(session, principal, org)
        return Created(await notice_out(session, notice), location=f"/v1/notices/{notice.id}")

    return await idempotency.create(make)


@router.get("/v1/organizations/{code}/notices", responses=responses(401, 403, 404, 422))
async def list_notices(
    code: CodePath,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[NoticeOut]:
    """The organization's notices, oldest first (the enterprise itself and regulators)."""
    org = await organization_service.find(session, code)
    _owned(principal, org.uscc, f"no organization with code {code}")
    after = _after(cursor)
    rows = await notices.of_organization(session, org, after=after, limit=limit)
    items = [await notice_out(session, n) for n in rows]
    more = (
        encode_cursor([rows[-1].served_at.isoformat(), str(rows[-1].id)])
        if len(rows) == limit
        else None
    )
    return Page(items=items, next_cursor=more)


@router.get("/v1/notices/{id}", responses=responses(401, 403, 404, 422))
async def get_notice(
    id: uuid.UUID, session: PrimaryRead, principal: EnterpriseOrRegulator
) -> NoticeOut:
    """One notice (the enterprise it concerns, and regulators)."""
    notice = await notices.find(session, id)
    _owned(principal, notice.uscc, f"no notice {id}")
    return await notice_out(session, notice)


@router.post("/v1/notices/{id}/delivery", responses=responses(401, 403, 404, 409, 422))
async def deliver_notice(
    id: uuid.UUID, body: DeliveryCreate, session: DbSession, principal: Regulator
) -> NoticeOut:
    """Record the notice's delivery (送达); the objection window runs from it."""
    notice = await notices.deliver(session, principal, id, body.delivered_on)
    return await notice_out(session, notice)


def objection_out(o: Objection) -> ObjectionOut:
    return ObjectionOut.model_validate(
        {k: getattr(o, k) for k in ObjectionOut.model_fields if k != "overdue"}
        | {"overdue": o.status == "open" and o.due_on < today()}
    )


@router.post(
    "/v1/objections",
    **created(ObjectionOut, 401, 403, 404, 409, 422, description="Filed"),
)
async def file_objection(
    body: ObjectionCreate,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    idempotency: Idempotent,
) -> Response:
    """Object to a record or a notice (the enterprise itself, or a regulator on its behalf)."""

    async def make() -> Created:
        objection = await objections.open_objection(
            session, principal, body.record_type, body.record_id, body.grounds, body.evidence
        )
        return Created(objection_out(objection), location=f"/v1/objections/{objection.id}")

    return await idempotency.create(make)


@router.get("/v1/objections", responses=responses(401, 403, 422))
async def list_objections(
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    status: Literal["open", "upheld", "rejected"] | None = None,
    overdue: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ObjectionOut]:
    """Objections, oldest first (an enterprise sees its own); `overdue=true`: open, past due."""
    after = _after(cursor)
    rows = await objections.listing(
        session, principal, status=status, overdue=overdue, after=after, limit=limit
    )
    more = (
        encode_cursor([rows[-1].opened_at.isoformat(), str(rows[-1].id)])
        if len(rows) == limit
        else None
    )
    return Page(items=[objection_out(o) for o in rows], next_cursor=more)


@router.get("/v1/objections/{id}", responses=responses(401, 403, 404, 422))
async def get_objection(
    id: uuid.UUID, session: PrimaryRead, principal: EnterpriseOrRegulator
) -> ObjectionOut:
    """One objection, with the decision's reason (the enterprise it concerns, and regulators)."""
    objection = await objections.find(session, id)
    _owned(principal, objection.uscc, f"no objection {id}")
    return objection_out(objection)


@router.post(
    "/v1/objections/{id}/decision",
    responses={
        202: {"description": "Four eyes: the pending approval (`Location: /v1/approvals/{id}`)"},
        **responses(401, 403, 404, 409, 422),
    },
)
async def decide_objection(
    id: uuid.UUID, body: ObjectionDecision, session: DbSession, principal: Regulator
) -> Any:
    """Uphold (correct or revoke the record, withdraw the notice) or reject, with a reason."""
    result = await objections.decide(
        session, principal, id, body.decision, body.reason, body.correction
    )
    if isinstance(result, Objection):
        return objection_out(result)
    return guards.accepted(result)
