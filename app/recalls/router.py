"""Recall effectiveness endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.auth.dependencies import EnterpriseOrRegulator, rate_limit
from app.codes.context import CodeSecret
from app.codes.digital_link import InvalidDigitalLink, item_uri
from app.core.database import DbSession, PrimaryRead
from app.core.errors import Unprocessable, field_name
from app.core.routing import AutoCommitRoute, responses
from app.core.settings import settings_of
from app.core.templates import environment
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


RETURN_FIELDS = ("gtin", "lot", "serial")
NO_STORE = {"Cache-Control": "no-store"}
HEADING = "未能记录退回"
FIELD_ZH = {"gtin": "商品条码", "lot": "批号", "serial": "序列号", "body": "表单"}


def _page(template: str, status_code: int, **context: Any) -> Response:
    body = environment.get_template(template).render(FIELD_ZH=FIELD_ZH, **context)
    return Response(body, status_code=status_code, media_type="text/html", headers=NO_STORE)


def _code_page(request: Request, values: dict[str, str]) -> str:
    """The resolver page of the item, to go back to ("/" if the fields are not a code)."""
    try:
        base = settings_of(request.app).public_base_url
        return item_uri(base, values["gtin"].zfill(14), values["lot"], values["serial"])
    except (KeyError, InvalidDigitalLink, ValueError):
        return "/"


def _invalid(errors: list[dict[str, str]], back: str) -> Response:
    """The form's errors as a page, in the resolver's form-error layout."""
    return _page("codes/feedback_invalid.html", 422, errors=errors, back_href=back, heading=HEADING)


@router.post(
    "/recalls/returned",
    status_code=201,
    response_class=HTMLResponse,
    dependencies=[ReturnLimit],
    include_in_schema=False,
)
async def returned_form(request: Request, session: DbSession, secret: CodeSecret) -> Response:
    """The resolver page's "我已退回" button (a plain form: `gtin`, `lot`, `serial`;
    no JavaScript): the item counts as returned in every ongoing recall covering
    it, and the answer is a page, 201, or 422 with the reasons."""
    form = await request.form(max_files=0, max_fields=len(RETURN_FIELDS) + 2)
    values = {k: str(form[k]).strip() for k in RETURN_FIELDS if isinstance(form.get(k), str)}
    back = _code_page(request, values)
    try:
        body = ReturnCreate.model_validate(values)
        await service.confirm_item_returned(session, body.gtin, body.lot, body.serial, secret)
    except ValidationError as exc:
        errors = [
            {"field": field_name(tuple(e["loc"])), "message": str(e["msg"])} for e in exc.errors()
        ]
        return _invalid(errors, back)
    except Unprocessable as exc:
        errors = exc.errors or [{"field": "body", "message": exc.detail}]
        return _invalid(errors, back)
    return _page("recalls/returned.html", 201, back_href=back)
