"""The public organization page: one organization's credit, list memberships and
public records, gathered from several domains (so it lives here, above them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.core.clock import today
from app.core.database import Db, DbSession, ReadSession
from app.core.errors import NotFound
from app.core.routing import AutoCommitRoute
from app.core.templates import error_page, render
from app.credit import service as credit_service
from app.lists import redaction
from app.lists import service as list_service
from app.lists.canonical import KINDS
from app.lists.models import ListEntry
from app.lists.pages import publication_view, retractions_of
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.records import disputes
from app.records import service as record_service
from app.records.kinds import INSPECTION, RECALL, VIOLATION, Kind
from app.web import timeline

router = APIRouter(route_class=AutoCommitRoute, include_in_schema=False)

RECORDS_SHOWN = 20

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
        latest = await list_service.latest_or_none(session, kind)
        if latest is None:
            continue
        found = await session.scalar(
            select(ListEntry.ordinal).where(
                ListEntry.kind == kind, ListEntry.number == latest.number, ListEntry.uscc == uscc
            )
        )
        # An entry redacted since (its violation's period has ended) no longer names it.
        if found is not None and not await redaction.redacted_ordinals(
            session, latest, among=[found]
        ):
            out.append(publication_view(latest))
    return out


@router.get("/organizations/{code}", response_class=HTMLResponse)
async def organization_page(
    code: str, session: ReadSession, primary: DbSession, database: Db
) -> HTMLResponse:
    """One organization's public credit: grade, A-level, lists and public records."""
    try:
        parsed = codes.parse_code(code[:64])
    except codes.InvalidCode as exc:
        return error_page(
            422, "企业代码无效", f"“{code[:64]}”不是有效的统一社会信用代码或组织机构代码：{exc}"
        )
    try:
        org = await organization_service.find(session, parsed.value)
    except NotFound:
        return error_page(404, "未找到该企业", f"登记服务中没有代码为 {parsed.value} 的企业。")
    store = None if database.has_replica else primary  # without a replica, `session` is it
    status = await credit_service.current_for_read(session, org, store=store)
    on = today()
    violations, more_violations = await _records(session, VIOLATION, org)
    inspections, more_inspections = await _records(session, INSPECTION, org)
    recalls, more_recalls = await _records(session, RECALL, org)
    disputed: set[Any] = set()
    for kind, rows in ((VIOLATION, violations), (INSPECTION, inspections), (RECALL, recalls)):
        disputed |= await disputes.disputed(session, kind.name, [r.id for r in rows])
    return render(
        "web/organization.html",
        org=org,
        org_status=STATUS_ZH.get(org.status, org.status),
        status=status,
        reasons=credit_service.public_reasons(status.reasons, on),
        on=on.isoformat(),
        memberships=await _memberships(session, org.uscc),
        timeline=await timeline.for_organization(session, org, on),
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
        disputed=disputed,
        retractions=await retractions_of(session, org.uscc),
    )
