"""Objections (信用异议, SPEC §9): filed by the enterprise on its own record or
notice (or a regulator on its behalf); the record is disputed at once; a
regulator other than the one who recorded it decides within 7 working days (a
late decision is accepted and marked late); an upheld objection corrects or
revokes the record as a new version, or withdraws the notice, and credit is
recomputed in the same transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.auth import guards
from app.auth.models import ApiKey
from app.calendar import service as calendar_service
from app.core.clock import today
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.models import fields
from app.core.principal import Principal
from app.credit import service as credit_service
from app.dueprocess import notices, targets
from app.dueprocess.models import Notice, Objection
from app.organizations.models import Organization
from app.policy import versions

AUDITED_FIELDS = [
    "uscc",
    "record_type",
    "record_id",
    "status",
    "due_on",
    "decided_on",
    "decision_reason",
    "correction",
    "late",
]


def snapshot(o: Objection) -> dict[str, Any]:
    return fields(o, AUDITED_FIELDS)


OBJECTION = journal.Audited("objection", snapshot, lambda o: o.uscc)


async def _notice_target(session: AsyncSession, notice_id: uuid.UUID) -> targets.Found | None:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        return None
    return targets.Found(notice.organization_id, notice.uscc, notice.served_by, public=False)


async def _withdraw_notice(
    session: AsyncSession,
    actor: Principal,
    notice_id: uuid.UUID,
    correction: dict[str, Any] | None,
    reason: str,
) -> None:
    notice = await notices.find(session, notice_id, for_update=True)
    if notice.status != "withdrawn":
        await notices.withdraw(session, actor, notice)


targets.register(targets.Target("notice", _notice_target, _withdraw_notice))


async def _refresh(session: AsyncSession, organization_id: uuid.UUID) -> None:
    org = await session.get(Organization, organization_id)
    assert org is not None
    await credit_service.refresh_organization(session, org)


async def open_objection(
    session: AsyncSession,
    actor: Principal,
    record_type: str,
    record_id: uuid.UUID,
    grounds: str,
    evidence: list[str] | None,
) -> Objection:
    """File an objection; the record is disputed from now on."""
    target = targets.get(record_type)
    found = await target.find(session, record_id)
    if found is None or not (actor.is_regulator or actor.owns(found.uscc)):
        raise NotFound(f"no {record_type} {record_id}")  # another organization's: 404
    pending = await session.scalar(
        select(Objection.id).where(
            Objection.record_type == record_type,
            Objection.record_id == record_id,
            Objection.status == "open",
        )
    )
    if pending is not None:
        raise Conflict(f"an objection on this {record_type} is open: {pending}")
    opened_on = today()
    calendar = await calendar_service.current(session)
    days = versions.current().versions[-1].objection_decision_working_days
    due_on = calendar.working_deadline(opened_on, days)
    calendar_service.warn_unknown(calendar, opened_on, due_on)
    objection = Objection(
        organization_id=found.organization_id,
        uscc=found.uscc,
        record_type=record_type,
        record_id=record_id,
        grounds=grounds,
        evidence=evidence,
        status="open",
        opened_at=await db_now(session),
        opened_on=opened_on,
        opened_by=actor.key_id,
        opened_role=actor.role.value,
        due_on=due_on,
    )
    session.add(objection)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent objection on the same record won the race
        raise Conflict(f"an objection on this {record_type} is open") from None
    named = {"record_id": record_id} if found.public else {}
    opened = {"id": objection.id, "record_type": record_type, "due_on": due_on} | named
    await OBJECTION.save(
        session,
        actor,
        objection,
        "objection.open",
        also={"grounds": grounds},
        event=("objection.opened", opened),
    )
    await _refresh(session, found.organization_id)
    return objection


async def find(session: Reader, objection_id: uuid.UUID, *, for_update: bool = False) -> Objection:
    statement = select(Objection).where(Objection.id == objection_id)
    return await one_or_404(
        session, statement, f"no objection {objection_id}", for_update=for_update
    )


async def official_of(session: AsyncSession, key_id: uuid.UUID | None) -> str | None:
    """Who is behind a key: its official, else the key itself."""
    if key_id is None:
        return None
    official = await session.scalar(select(ApiKey.official).where(ApiKey.id == key_id))
    return official or f"key:{key_id}"


def identity(actor: Principal) -> str | None:
    return actor.official or (f"key:{actor.key_id}" if actor.key_id else None)


async def decide(
    session: AsyncSession,
    actor: Principal,
    objection_id: uuid.UUID,
    decision: str,
    reason: str,
    correction: dict[str, Any] | None,
    *,
    approval: Any = None,
) -> Objection | guards.Pending:
    """Decide an objection (four eyes: `objection.decide`)."""
    objection = await find(session, objection_id, for_update=True)
    if objection.status != "open":
        raise Conflict(f"the objection was already {objection.status}")
    target = targets.get(objection.record_type)
    found = await target.find(session, objection.record_id)
    if found is None:
        raise NotFound(f"no {objection.record_type} {objection.record_id}")
    recorder = await official_of(session, found.last_editor)
    if recorder is not None and recorder == identity(actor):
        raise Forbidden(
            "the decider of an objection must not be the official who recorded the record",
            extra={"rule": "objection.decider_is_not_recorder"},
        )
    payload = {
        "objection_id": objection.id,
        "decision": decision,
        "reason": reason,
        "correction": correction,
        "record": {"type": objection.record_type, "id": objection.record_id},
    }
    proposal = guards.Proposal(
        "objection.decide", "objection", str(objection.id), payload, objection.opened_by
    )
    pending = await guards.check(session, actor, proposal, approval)
    if pending is not None:
        return pending
    before = snapshot(objection)
    on = today()
    if decision == "upheld":
        await target.upheld(session, actor, objection.record_id, correction, reason)
    objection.status = decision
    objection.decided_at = await db_now(session)
    objection.decided_on = on
    objection.decided_by = actor.key_id
    objection.decision_reason = reason
    objection.correction = correction
    objection.late = on > objection.due_on
    decided = {"id": objection.id, "decision": decision, "late": objection.late}
    await OBJECTION.save(
        session,
        actor,
        objection,
        f"objection.{decision}",
        before=before,
        event=("objection.decided", decided),
    )
    await _refresh(session, objection.organization_id)
    return objection


async def listing(
    session: Reader,
    actor: Principal,
    *,
    status: str | None,
    overdue: bool,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Objection]:
    """Oldest first, then id; an enterprise sees its own organization's only."""
    statement = select(Objection).order_by(Objection.opened_at, Objection.id).limit(limit)
    if not actor.is_regulator:
        statement = statement.where(Objection.uscc == actor.uscc)
    if status:
        statement = statement.where(Objection.status == status)
    if overdue:
        statement = statement.where(Objection.status == "open", Objection.due_on < today())
    if after is not None:
        statement = statement.where((Objection.opened_at, Objection.id) > after)  # type: ignore[operator]
    return list((await session.scalars(statement)).all())


async def overdue_objections(session: AsyncSession, on: dt.date) -> list[Objection]:
    """For the regulators' console: open objections past their due day, oldest first."""
    return list(
        (
            await session.scalars(
                select(Objection)
                .where(Objection.status == "open", Objection.due_on < on)
                .order_by(Objection.opened_at, Objection.id)
                .limit(200)
            )
        ).all()
    )


async def disputed_ids(
    session: Reader, record_type: str, ids: list[uuid.UUID] | Any
) -> set[uuid.UUID]:
    """The records of these ids under an open objection (the records views' provider)."""
    rows = await session.scalars(
        select(Objection.record_id).where(
            Objection.record_type == record_type,
            Objection.record_id.in_(list(ids)),
            Objection.status == "open",
        )
    )
    return set(rows)
