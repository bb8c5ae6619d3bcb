"""Notices (事先告知, SPEC §9): served by the registry when an S rule first holds in
an episode under policy v2, or by a regulator; delivered (送达) as a regulator
records it; the objection window (10 calendar days, policy data) runs from
delivery, its last day moved to the next working day of the Chinese calendar."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.core.clock import today
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import Conflict, invalid
from app.core.models import fields
from app.core.principal import SYSTEM, Principal
from app.credit import providers
from app.credit import service as credit_service
from app.dueprocess.models import Notice
from app.organizations.models import Organization
from app.policy import versions
from app.policy.facts import NoticeFact, ObjectionFact
from app.records.as_policy import as_date, as_datetime, as_uuid

AUDITED_FIELDS = [
    "uscc",
    "kind",
    "basis",
    "served_on",
    "delivered_on",
    "objection_deadline",
    "status",
    "withdrawn_on",
]


def snapshot(n: Notice) -> dict[str, Any]:
    return fields(n, AUDITED_FIELDS)


# Never public, so no change event: the feed shows black_list_pending in credit.changed.
NOTICE = journal.Audited("notice", snapshot, lambda n: n.uscc)


def _basis(reasons: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rules": sorted({r["rule_id"] for r in reasons}),
        "records": [
            {"record_type": r["record_type"], "record_id": r["record_id"]}
            for r in reasons
            if r.get("record_id")
        ],
    }


async def _serve(
    session: AsyncSession, actor: Principal, org_id: uuid.UUID, uscc: str, basis: dict[str, Any]
) -> Notice:
    notice = Notice(
        organization_id=org_id,
        uscc=uscc,
        kind="black_list",
        basis=basis,
        served_at=await db_now(session),
        served_on=today(),
        served_by=actor.key_id,
        status="served",
    )
    return await NOTICE.save(session, actor, notice, "notice.serve")


async def serve_automatically(
    session: AsyncSession, organizations: Sequence[providers.Unnoticed]
) -> list[uuid.UUID]:
    """The credit refresh's listener: one notice per episode, served by the registry —
    not again after one was withdrawn (an upheld objection): a regulator may serve
    a new one by hand."""
    served = []
    for org_id, uscc, episode_start, reasons in organizations:
        earlier = await session.scalar(
            select(Notice.id).where(
                Notice.organization_id == org_id, Notice.served_on >= episode_start
            )
        )
        if earlier is not None:
            continue
        await _serve(session, SYSTEM, org_id, uscc, _basis(reasons))
        served.append(org_id)
    return served


async def serve_by_hand(session: AsyncSession, actor: Principal, org: Organization) -> Notice:
    """A regulator serves the notice of the current episode."""
    status = await credit_service.current(session, org)
    reasons = [r for r in status.reasons if r["rule_id"] in credit_service.S_RULES]
    if not reasons:
        raise Conflict(f"no S rule holds for {org.uscc}: there is nothing to give notice of")
    if status.notice_id is not None:
        raise Conflict(f"notice {status.notice_id} of this episode is pending")
    if status.black_list:
        raise Conflict(f"{org.uscc} is on the black list already")
    notice = await _serve(session, actor, org.id, org.uscc, _basis(reasons))
    await credit_service.refresh_organization(session, org)
    return notice


async def find(session: Reader, notice_id: uuid.UUID, *, for_update: bool = False) -> Notice:
    statement = select(Notice).where(Notice.id == notice_id)
    return await one_or_404(session, statement, f"no notice {notice_id}", for_update=for_update)


async def deliver(
    session: AsyncSession, actor: Principal, notice_id: uuid.UUID, delivered_on: dt.date | None
) -> Notice:
    """Record delivery (送达); the objection deadline follows from it."""
    notice = await find(session, notice_id, for_update=True)
    if notice.status == "withdrawn":
        raise Conflict("the notice was withdrawn")
    if notice.delivered_on is not None:
        raise Conflict(f"the notice was delivered on {notice.delivered_on.isoformat()}")
    day = delivered_on or notice.served_on
    if day < notice.served_on:
        raise invalid("delivered_on", f"is before the notice was served ({notice.served_on})")
    if day > today():
        raise invalid("delivered_on", "is in the future")
    calendar = await calendar_service.current(session)
    window = versions.current().versions[-1].objection_window_days
    deadline = calendar.calendar_deadline(day, window)
    calendar_service.warn_unknown(calendar, day, deadline)
    before = snapshot(notice)
    notice.delivered_on, notice.objection_deadline = day, deadline
    notice.delivered_at, notice.status = await db_now(session), "delivered"
    await NOTICE.save(session, actor, notice, "notice.deliver", before=before)
    org = await session.get(Organization, notice.organization_id)
    assert org is not None
    await credit_service.refresh_organization(session, org)
    return notice


async def withdraw(session: AsyncSession, actor: Principal, notice: Notice) -> None:
    """An objection upheld against the notice withdraws it (the caller refreshes credit)."""
    before = snapshot(notice)
    notice.status, notice.withdrawn_on = "withdrawn", today()
    notice.withdrawn_at = await db_now(session)
    await NOTICE.save(session, actor, notice, "notice.withdraw", before=before)


async def of_organization(
    session: Reader,
    org: Organization,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Notice]:
    """Oldest first, then id (SPEC §9)."""
    statement = (
        select(Notice)
        .where(Notice.organization_id == org.id)
        .order_by(Notice.served_at, Notice.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where((Notice.served_at, Notice.id) > after)  # type: ignore[operator]
    return list((await session.scalars(statement)).all())


# Notices and objections as credit's facts (app/credit/providers.py `Facts`):
# rows of its history shape, in the order they were served or opened; `at`/`day`
# are when each was served or opened. SQL of constants only.
_FACTS_PART = (
    "SELECT 'notice' AS record_type, n.organization_id, n.served_at AS created_at, n.id,"
    " jsonb_build_object('id', n.id, 'at', n.served_at, 'day', n.served_on,"
    " 'delivered_at', n.delivered_at, 'delivered_on', n.delivered_on,"
    " 'objection_deadline', n.objection_deadline,"
    " 'withdrawn_at', n.withdrawn_at, 'withdrawn_on', n.withdrawn_on) AS row"
    " FROM notices n WHERE n.organization_id {where}"
    " UNION ALL SELECT 'objection', b.organization_id, b.opened_at, b.id,"
    " jsonb_build_object('id', b.id, 'at', b.opened_at, 'day', b.opened_on,"
    " 'decided_at', b.decided_at, 'decided_on', b.decided_on,"
    " 'record_type', b.record_type, 'record_id', b.record_id, 'status', b.status)"
    " FROM objections b WHERE b.organization_id {where}"
)


def read_facts(
    rows: Mapping[str, providers.FactRows], known_at: dt.datetime | None
) -> dict[uuid.UUID, dict[str, tuple[Any, ...]]]:
    """Notices and objections for the credit engine; with `known_at`, each counts
    from when it was recorded (served, delivered, opened, decided)."""

    def known(moment: Any) -> bool:
        at = as_datetime(moment)
        return at is not None and (known_at is None or at <= known_at)

    notices: dict[uuid.UUID, list[NoticeFact]] = defaultdict(list)
    objections: dict[uuid.UUID, list[ObjectionFact]] = defaultdict(list)
    for org_id, r in rows.get("notice", ()):
        if not known(r["at"]):
            continue
        delivered = known(r["delivered_at"])
        notices[org_id].append(
            NoticeFact(
                as_uuid(r["id"]),
                as_date(r["day"]) or dt.date.min,
                as_date(r["delivered_on"]) if delivered else None,
                as_date(r["objection_deadline"]) if delivered else None,
                as_date(r["withdrawn_on"]) if known(r["withdrawn_at"]) else None,
            )
        )
    for org_id, r in rows.get("objection", ()):
        if not known(r["at"]):
            continue
        decided = known(r["decided_at"])
        objections[org_id].append(
            ObjectionFact(
                as_uuid(r["id"]),
                "grade_assessment" if r["record_type"] == "grade" else r["record_type"],
                as_uuid(r["record_id"]),
                as_date(r["day"]) or dt.date.min,
                as_date(r["decided_on"]) if decided else None,
                r["status"] if decided and r["status"] != "open" else None,
            )
        )
    return {
        org_id: {"notices": tuple(notices[org_id]), "objections": tuple(objections[org_id])}
        for org_id in notices.keys() | objections.keys()
    }


FACTS = providers.Facts(part=_FACTS_PART, read=read_facts)


async def recent_notices(session: AsyncSession, limit: int = 50) -> list[Notice]:
    """For the regulators' console: the latest notices, newest first (never public)."""
    statement = select(Notice).order_by(Notice.served_at.desc(), Notice.id.desc()).limit(limit)
    return list((await session.scalars(statement)).all())
