"""Public pages in Chinese: the lists' index, the latest (or any) red and black
list with search and pagination, and one organization's public credit page.

Server-rendered with plain links and forms (no JavaScript). Only public data is
shown: no legal representative, no internal description, violations only inside
their publication period, reasons of expired ones anonymised.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.core.clock import today
from app.core.database import ReadSession
from app.core.errors import NotFound
from app.core.routing import AutoCommitRoute
from app.core.settings import get_settings
from app.core.templates import render
from app.credit import service as credit_service
from app.lists import service
from app.lists.canonical import KIND_ZH, KINDS
from app.lists.models import ListEntry, ListPublication
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.records import service as record_service
from app.records.kinds import INSPECTION, RECALL, VIOLATION, Kind

router = APIRouter(route_class=AutoCommitRoute, include_in_schema=False)

PAGE_SIZE = 30
RECORDS_SHOWN = 20
MAX_QUERY = 100
HISTORY_SHOWN = 12

STATUS_ZH = {"active": "存续", "deregistered": "注销"}
SEVERITY_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}
VIOLATION_STATUS_ZH = {
    "open": "未整改",
    "rectified": "已整改",
    "revoked": "已撤销",
    "repaired": "已信用修复",
}
RESULT_ZH = {"pass": "合格", "fail": "不合格"}
RECALL_KIND_ZH = {"voluntary": "主动召回", "ordered": "责令召回"}
RECALL_STATUS_ZH = {"ongoing": "进行中", "completed": "已完成", "terminated": "已终止"}


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M")


def _error(status: int, title: str, message: str) -> HTMLResponse:
    return render("lists/error.html", status_code=status, title=title, message=message)


def _publication_view(p: ListPublication) -> dict[str, Any]:
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
        "api": f"/v1/lists/{p.kind}/publications/{p.number}",
        "page": f"/lists/{p.kind}/{p.number}",
    }


@router.get("/lists", response_class=HTMLResponse)
async def lists_index(session: ReadSession) -> HTMLResponse:
    """红黑榜 index: the latest publication of each list."""
    latest = {}
    for kind in KINDS:
        found = await service.latest_or_none(session, kind)
        latest[kind] = _publication_view(found) if found else None
    return render("lists/index.html", latest=latest, kind_zh=KIND_ZH)


def _page_number(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(raw)
    return int(raw)


async def _publication_page(
    session: ReadSession,
    kind: str,
    number: int | None,
    q: str | None,
    after: str | None,
    before: str | None,
) -> HTMLResponse:
    if kind not in KINDS:
        return _error(404, "页面不存在", "只有红榜（/lists/red）和黑榜（/lists/black）。")
    query = unicodedata.normalize("NFKC", q or "").strip()
    if len(query) > MAX_QUERY:
        return _error(422, "搜索词过长", f"搜索词最多 {MAX_QUERY} 个字。")
    try:
        after_n, before_n = _page_number(after), _page_number(before)
    except ValueError:
        return _error(422, "分页参数无效", "请从名单第一页重新浏览。")
    try:
        publication = (
            await service.find(session, kind, number)
            if number is not None
            else await service.latest(session, kind)
        )
    except NotFound:
        if number is not None:
            return _error(404, "没有这一期名单", f"{KIND_ZH[kind]}没有第 {number} 期。")
        return render("lists/publication.html", kind=kind, kind_zh=KIND_ZH[kind], publication=None)
    rows, more = await service.search_page(
        session, publication, q=query or None, after=after_n, before=before_n, limit=PAGE_SIZE
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
        publication=_publication_view(publication),
        is_latest=number is None,
        entries=[entry for _, entry in rows],
        query=query,
        previous_link=previous_link,
        next_link=next_link,
        history=[_publication_view(p) for p in history],
        base_url=get_settings().public_base_url.rstrip("/"),
    )


@router.get("/lists/{kind}", response_class=HTMLResponse)
async def latest_list_page(
    kind: str,
    session: ReadSession,
    q: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The latest red or black list, with search by name or code and pagination."""
    return await _publication_page(session, kind, None, q, after, before)


@router.get("/lists/{kind}/{number}", response_class=HTMLResponse)
async def publication_page(
    kind: str,
    number: str,
    session: ReadSession,
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
        return _error(404, "没有这一期名单", "期号应为正整数。")
    return await _publication_page(session, kind, n, q, after, before)


async def _records(session: ReadSession, kind: Kind, org: Organization) -> tuple[list[Any], bool]:
    """The newest public records of one kind (violations: inside their publication period)."""
    statement = record_service.list_statement(
        kind,
        org,
        public_only=True,
        date_from=None,
        date_to=None,
        status=None,
        after=None,
        limit=RECORDS_SHOWN + 1,
    )
    rows = list((await session.scalars(statement)).all())
    return rows[:RECORDS_SHOWN], len(rows) > RECORDS_SHOWN


async def _memberships(session: ReadSession, uscc: str) -> list[dict[str, Any]]:
    """The latest publication of each list that names this organization."""
    out = []
    for kind in KINDS:
        latest = await service.latest_or_none(session, kind)
        if latest is None:
            continue
        found = await session.scalar(
            select(ListEntry.ordinal).where(
                ListEntry.kind == kind, ListEntry.number == latest.number, ListEntry.uscc == uscc
            )
        )
        if found is not None:
            out.append(_publication_view(latest))
    return out


@router.get("/organizations/{code}", response_class=HTMLResponse)
async def organization_page(code: str, request: Request, session: ReadSession) -> HTMLResponse:
    """One organization's public credit: grade, A-level, lists and public records."""
    try:
        parsed = codes.parse_code(code[:64])
    except codes.InvalidCode as exc:
        return _error(
            422, "企业代码无效", f"“{code[:64]}”不是有效的统一社会信用代码或组织机构代码：{exc}"
        )
    try:
        org = await organization_service.find(session, parsed.value)
    except NotFound:
        return _error(404, "未找到该企业", f"登记服务中没有代码为 {parsed.value} 的企业。")
    has_replica = request.app.state.database.has_replica
    status = await credit_service.current_for_read(session, org, store=not has_replica)
    on = today()
    violations, more_violations = await _records(session, VIOLATION, org)
    inspections, more_inspections = await _records(session, INSPECTION, org)
    recalls, more_recalls = await _records(session, RECALL, org)
    return render(
        "lists/organization.html",
        org=org,
        org_status=STATUS_ZH.get(org.status, org.status),
        status=status,
        reasons=credit_service.public_reasons(status.reasons, on),
        on=on.isoformat(),
        memberships=await _memberships(session, org.uscc),
        violations=[(v, record_service.violation_status(v)) for v in violations],
        more_violations=more_violations,
        inspections=inspections,
        more_inspections=more_inspections,
        recalls=recalls,
        more_recalls=more_recalls,
        severity_zh=SEVERITY_ZH,
        violation_status_zh=VIOLATION_STATUS_ZH,
        result_zh=RESULT_ZH,
        recall_kind_zh=RECALL_KIND_ZH,
        recall_status_zh=RECALL_STATUS_ZH,
    )
