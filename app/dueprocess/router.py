"""Notices and objections over HTTP (SPEC §9). Notices are for the enterprise
(own key) and regulators only: never public."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Response
from sqlalchemy import select

from app.auth.dependencies import EnterpriseOrRegulator, Regulator
from app.auth.principal import Principal
from app.core.database import DbSession
from app.core.errors import NotFound, invalid
from app.core.idempotency import Idempotent
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, responses
from app.dueprocess import notices
from app.dueprocess.models import Notice, Objection
from app.dueprocess.schemas import DeliveryCreate, NoticeCreate, NoticeOut
from app.organizations import service as organization_service
from app.organizations.types import CodePath

router = APIRouter(tags=["due process"], route_class=AutoCommitRoute)


def _owned(principal: Principal, uscc: str, what: str) -> None:
    """An enterprise key sees its own organization's due process only (404 otherwise)."""
    if not (principal.is_regulator or principal.owns(uscc)):
        raise NotFound(what)


async def notice_out(session: DbSession, notice: Notice) -> NoticeOut:
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
    status_code=201,
    response_class=Response,
    responses={
        201: {"model": NoticeOut, "description": "Served"},
        **responses(401, 403, 404, 409, 422),
    },
)
async def serve_notice(
    code: CodePath,
    body: NoticeCreate,
    session: DbSession,
    principal: Regulator,
    idempotency: Idempotent,
) -> Response:
    """Serve the notice (事先告知) of the current episode by hand."""
    if (replay := await idempotency.replay()) is not None:
        return replay
    org = await organization_service.find(session, code)
    notice = await notices.serve_by_hand(session, principal, org)
    return await idempotency.respond(
        await notice_out(session, notice), location=f"/v1/notices/{notice.id}"
    )


@router.get("/v1/organizations/{code}/notices", responses=responses(401, 403, 404, 422))
async def list_notices(
    code: CodePath,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[NoticeOut]:
    """The organization's notices, oldest first (the enterprise itself and regulators)."""
    org = await organization_service.find(session, code)
    _owned(principal, org.uscc, f"no organization with code {code}")
    key = decode_cursor(cursor, 2)
    after: tuple[dt.datetime, uuid.UUID] | None = None
    if key is not None:
        try:
            after = (dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
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
    id: uuid.UUID, session: DbSession, principal: EnterpriseOrRegulator
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
