"""Public pages in Chinese: the lists' index, the latest (or any) red and black
list with search and pagination, and one organization's public credit page.

Server-rendered with plain links and forms (no JavaScript). Only public data is
shown: no legal representative, no internal description, violations only inside
their publication period; an entry of a past publication whose violation's period
has ended since is redacted as in the API (SPEC §4.1: its line's hash in its
place, never found by a search).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.core.database import ReadSession
from app.core.errors import NotFound
from app.core.routing import AutoCommitRoute
from app.core.settings import AppSettings, Settings, get_settings
from app.core.templates import error_page, render
from app.lists import redaction, service
from app.lists.canonical import KIND_ZH, KINDS
from app.lists.models import ListPublication

router = APIRouter(route_class=AutoCommitRoute, include_in_schema=False)

PAGE_SIZE = 30
MAX_QUERY = 100
HISTORY_SHOWN = 12


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M")


def publication_view(p: ListPublication) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "kind_zh": KIND_ZH[p.kind],
        "number": p.number,
        "as_of": p.as_of.isoformat(),
        "published_at": _local(p.published_at),
        "entry_count": p.entry_count,
        "sha256": p.sha256,
        "audit_seq": p.audit_seq,
        "audit_hash": p.audit_hash,
        "note": p.note,
        "corrects": p.corrects,
        "retracted": p.retracted or [],
        "retraction_reason": p.retraction_reason,
        "api": f"/v1/lists/{p.kind}/publications/{p.number}",
        "page": f"/lists/{p.kind}/{p.number}",
    }


@router.get("/lists", response_class=HTMLResponse)
async def lists_index(session: ReadSession) -> HTMLResponse:
    """红黑榜 index: the latest publication of each list."""
    latest = {}
    for kind in KINDS:
        found = await service.latest_or_none(session, kind)
        latest[kind] = publication_view(found) if found else None
    return render("lists/index.html", latest=latest, kind_zh=KIND_ZH)


def _page_number(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(raw)
    return int(raw)


async def _publication_page(
    session: ReadSession,
    settings: Settings,
    kind: str,
    number: int | None,
    q: str | None,
    after: str | None,
    before: str | None,
) -> HTMLResponse:
    if kind not in KINDS:
        return error_page(404, "页面不存在", "只有红榜（/lists/red）和黑榜（/lists/black）。")
    query = unicodedata.normalize("NFKC", q or "").strip()
    if len(query) > MAX_QUERY:
        return error_page(422, "搜索词过长", f"搜索词最多 {MAX_QUERY} 个字。")
    try:
        after_n, before_n = _page_number(after), _page_number(before)
    except ValueError:
        return error_page(422, "分页参数无效", "请从名单第一页重新浏览。")
    try:
        publication = (
            await service.find(session, kind, number)
            if number is not None
            else await service.latest(session, kind)
        )
    except NotFound:
        if number is not None:
            return error_page(404, "没有这一期名单", f"{KIND_ZH[kind]}没有第 {number} 期。")
        return render("lists/publication.html", kind=kind, kind_zh=KIND_ZH[kind], publication=None)
    rows, more = await redaction.public_page(
        session, publication, PAGE_SIZE, q=query or None, after=after_n, before=before_n
    )
    base = f"/lists/{kind}" if number is None else f"/lists/{kind}/{number}"
    extra = {"q": query} if query else {}
    previous_link = next_link = None
    if rows:
        first, last = rows[0][0], rows[-1][0]
        backwards = before_n is not None
        if (backwards and more) or (not backwards and after_n):
            previous_link = f"{base}?{urlencode(extra | {'before': first})}"
        if (not backwards and more) or backwards:
            next_link = f"{base}?{urlencode(extra | {'after': last})}"
    history = await service.publications(session, kind, before=None, limit=HISTORY_SHOWN)
    return render(
        "lists/publication.html",
        kind=kind,
        kind_zh=KIND_ZH[kind],
        publication=publication_view(publication),
        redacted=await redaction.redacted_count(session, publication),
        is_latest=number is None or bool(history and history[0].number == publication.number),
        entries=[entry for _, entry in rows],
        query=query,
        previous_link=previous_link,
        next_link=next_link,
        history=[publication_view(p) for p in history],
        base_url=settings.public_base_url.rstrip("/"),
    )


@router.get("/lists/{kind}", response_class=HTMLResponse)
async def latest_list_page(
    kind: str,
    session: ReadSession,
    settings: AppSettings,
    q: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The latest red or black list, with search by name or code and pagination."""
    return await _publication_page(session, settings, kind, None, q, after, before)


@router.get("/lists/{kind}/{number}", response_class=HTMLResponse)
async def publication_page(
    kind: str,
    number: str,
    session: ReadSession,
    settings: AppSettings,
    q: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """One publication of a list, by number."""
    try:
        n = _page_number(number)
    except ValueError:
        n = None
    if n is None or n < 1:
        return error_page(404, "没有这一期名单", "期号应为正整数。")
    return await _publication_page(session, settings, kind, n, q, after, before)


async def retractions_of(session: ReadSession, uscc: str) -> list[dict[str, Any]]:
    """Correction publications that retracted this organization (错误列入, SPEC §9)."""
    rows = await session.scalars(
        select(ListPublication)
        .where(ListPublication.retracted.contains([{"uscc": uscc}]))
        .order_by(ListPublication.published_at, ListPublication.kind, ListPublication.number)
    )
    return [
        publication_view(p) | {"corrects": p.corrects, "reason": p.retraction_reason} for p in rows
    ]
