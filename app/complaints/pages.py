"""Public pages: the 投诉举报 form the resolver page links to (pre-filled with the
scanned code: proof of scan; a plain form, no JavaScript), its answers, and the
public figures of art. 34 (no personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse

from app.auth.dependencies import rate_limit
from app.complaints import queries
from app.complaints.schemas import ComplaintOut
from app.core.database import ReadSession
from app.core.dates import IsoDate
from app.core.templates import environment

router = APIRouter(tags=["pages"], include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
CATEGORIES = ("质量问题", "安全隐患", "假冒伪劣", "标签标识", "计量问题", "售后服务", "其他")
PublicLimit = Depends(rate_limit("public", lambda s: s.rate_limit_public))


def _html(template: str, status_code: int = 200, **context: object) -> Response:
    body = environment.get_template(template).render(**context)
    return Response(body, status_code=status_code, media_type="text/html", headers=NO_STORE)


@router.get("/complaints/new", dependencies=[PublicLimit], response_class=HTMLResponse)
async def complaint_form(
    gtin: Annotated[str | None, Query(max_length=32)] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    serial: Annotated[str | None, Query(max_length=20)] = None,
    uscc: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The form, pre-filled from the scanned code (checked when posted)."""
    return _html(
        "complaints/new.html",
        gtin=gtin,
        lot=lot,
        serial=serial,
        uscc=uscc,
        categories=CATEGORIES,
    )


def thanks(complaint: ComplaintOut) -> Response:
    return _html("complaints/thanks.html", status_code=201, complaint=complaint)


def invalid_form(errors: list[dict[str, str]]) -> Response:
    return _html("complaints/invalid.html", status_code=422, errors=errors)


@router.get("/complaints/stats", dependencies=[PublicLimit], response_class=HTMLResponse)
async def public_stats(
    session: ReadSession,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: Annotated[IsoDate | None, Query()] = None,
) -> Response:
    """投诉举报统计 (art. 34): the same figures as `/v1/complaints/stats`."""
    figures = await queries.stats(session, None, from_, to)
    return _html("complaints/stats.html", figures=figures, start=from_, end=to)
