"""The public home page `GET /` (SPEC §8.1): in Chinese, phone first.

Search an enterprise by name (Chinese substring, the same trigram index and
statement as `GET /v1/organizations?q=`) or by code (USCC or organization code),
the latest red and black lists, and how to check a code or a download.
Server-rendered, no JavaScript.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.core.database import ReadSession
from app.core.errors import NotFound
from app.core.routing import AutoCommitRoute
from app.core.templates import render
from app.lists import redaction
from app.lists import service as list_service
from app.lists.canonical import KIND_ZH, KINDS
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization

router = APIRouter(route_class=AutoCommitRoute, include_in_schema=False)

MAX_QUERY = 100
RESULTS_SHOWN = 20
LIST_ENTRIES_SHOWN = 5


async def search(session: ReadSession, query: str) -> tuple[list[Organization], bool]:
    """Organizations whose code is `query`, or whose name contains it; and whether
    there are more than shown."""
    try:
        parsed = codes.parse_code(query)
    except codes.InvalidCode:
        parsed = None
    if parsed is not None:
        try:
            return [await organization_service.find(session, parsed.value)], False
        except NotFound:
            pass
    statement = organization_service.search_statement(
        q=query, region=None, after_uscc=None, limit=RESULTS_SHOWN + 1
    )
    rows = list((await session.scalars(statement)).all())
    return rows[:RESULTS_SHOWN], len(rows) > RESULTS_SHOWN


async def _latest(session: ReadSession) -> dict[str, dict[str, Any] | None]:
    out: dict[str, dict[str, Any] | None] = {}
    for kind in KINDS:
        publication = await list_service.latest_or_none(session, kind)
        if publication is None:
            out[kind] = None
            continue
        rows, more = await redaction.public_page(
            session, publication, LIST_ENTRIES_SHOWN, placeholders=False
        )
        out[kind] = {
            "number": publication.number,
            "as_of": publication.as_of.isoformat(),
            "entry_count": publication.entry_count,
            "entries": [entry for _, entry in rows],
            "more": more,
        }
    return out


@router.get("/", response_class=HTMLResponse)
async def home(session: ReadSession, q: str | None = None) -> HTMLResponse:
    """质量信用登记服务 home: search, the latest lists, how to verify."""
    query = unicodedata.normalize("NFKC", q or "").strip()
    error = None
    results: list[Organization] = []
    more = False
    if len(query) > MAX_QUERY:
        error = f"搜索词最多 {MAX_QUERY} 个字。"
    elif query:
        results, more = await search(session, query)
    return render(
        "web/home.html",
        status_code=422 if error else 200,
        query=query[:MAX_QUERY],
        searched=bool(query) and error is None,
        error=error,
        results=results,
        more=more,
        latest=await _latest(session),
        kind_zh=KIND_ZH,
    )
