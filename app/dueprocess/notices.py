"""Notices (事先告知, SPEC §9): served by the registry when an S rule first holds in
an episode under policy v2, or by a regulator; delivered (送达) as a regulator
records it; the objection window (10 calendar days, policy data) runs from
delivery, its last day moved to the next working day of the Chinese calendar."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.core.clock import today
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import Conflict, invalid
from app.core.fastpath import Compiled, any_uuid
from app.core.models import fields
from app.core.principal import SYSTEM, Principal
from app.credit import providers
from app.credit import service as credit_service
from app.dueprocess.models import Notice, Objection
from app.organizations.models import Organization
from app.policy import versions
from app.policy.facts import NoticeFact, ObjectionFact

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


def _facts_statement() -> Any:
    """Notices and objections of the organizations `ids` in one statement (one
    round trip on the write path): `at`/`day` are when each was served or opened.
    Built once (building it costs more than running it)."""
    ids = any_uuid()

    def none(type_: Any) -> Any:
        return literal(None, type_)

    notices = select(
        literal("notice").label("kind"),
        Notice.id,
        Notice.organization_id,
        Notice.served_at.label("at"),
        Notice.served_on.label("day"),
        Notice.delivered_at,
        Notice.delivered_on,
        Notice.objection_deadline,
        Notice.withdrawn_at,
        Notice.withdrawn_on,
        none(Objection.decided_at.type).label("decided_at"),
        none(Objection.decided_on.type).label("decided_on"),
        none(Objection.record_type.type).label("record_type"),
        none(Objection.record_id.type).label("record_id"),
        none(Objection.status.type).label("status"),
    ).where(Notice.organization_id == ids)
    objections = select(
        literal("objection"),
        Objection.id,
        Objection.organization_id,
        Objection.opened_at,
        Objection.opened_on,
        none(Notice.delivered_at.type),
        none(Notice.delivered_on.type),
        none(Notice.objection_deadline.type),
        none(Notice.withdrawn_at.type),
        none(Notice.withdrawn_on.type),
        Objection.decided_at,
        Objection.decided_on,
        Objection.record_type,
        Objection.record_id,
        Objection.status,
    ).where(Objection.organization_id == ids)
    return union_all(notices, objections)


_FACTS = Compiled(_facts_statement())


async def facts(
    session: Reader, ids: Sequence[uuid.UUID], known_at: dt.datetime | None
) -> dict[uuid.UUID, tuple[list[NoticeFact], list[ObjectionFact]]]:
    """The provider of notices and objections for the credit engine; with `known_at`,
    each counts from when it was recorded (served, delivered, opened, decided)."""

    def known(moment: dt.datetime | None) -> bool:
        return moment is not None and (known_at is None or moment <= known_at)

    out: dict[uuid.UUID, tuple[list[NoticeFact], list[ObjectionFact]]] = defaultdict(
        lambda: ([], [])
    )
    for r in await _FACTS.fetch(session, {"ids": list(ids)}):
        if r["kind"] == "notice":
            if not known(r["at"]):
                continue
            delivered = known(r["delivered_at"])
            out[r["organization_id"]][0].append(
                NoticeFact(
                    r["id"],
                    r["day"],
                    r["delivered_on"] if delivered else None,
                    r["objection_deadline"] if delivered else None,
                    r["withdrawn_on"] if known(r["withdrawn_at"]) else None,
                )
            )
            continue
        if not known(r["at"]):
            continue
        decided = known(r["decided_at"])
        out[r["organization_id"]][1].append(
            ObjectionFact(
                r["id"],
                "grade_assessment" if r["record_type"] == "grade" else r["record_type"],
                r["record_id"],
                r["day"],
                r["decided_on"] if decided else None,
                r["status"] if decided and r["status"] != "open" else None,
            )
        )
    return dict(out)


async def recent_notices(session: AsyncSession, limit: int = 50) -> list[Notice]:
    """For the regulators' console: the latest notices, newest first (never public)."""
    statement = select(Notice).order_by(Notice.served_at.desc(), Notice.id.desc()).limit(limit)
    return list((await session.scalars(statement)).all())
