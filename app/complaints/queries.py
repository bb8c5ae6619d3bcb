"""Reading complaints: by role (one place: `readable`), figures, and the facts
credit rule C1 counts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from app.complaints import clock
from app.complaints.models import Complaint
from app.complaints.schemas import ComplaintOut, ComplaintPrivileged, ComplaintStats
from app.core.clock import today
from app.core.database import Reader
from app.core.errors import NotFound
from app.core.filters import where_given
from app.core.principal import Principal
from app.credit import providers
from app.policy.facts import ComplaintFact
from app.records import disputes
from app.records.as_policy import as_date, as_datetime, as_uuid

_other = aliased(Complaint)
CLUSTER_SIZE = (
    select(func.count())
    .where(_other.cluster_key == Complaint.cluster_key)
    .correlate(Complaint)
    .scalar_subquery()
)


def readable(principal: Principal) -> Select[Complaint, int]:
    """Regulators read every case; an enterprise its own organization's; nobody else."""
    statement = select(Complaint, CLUSTER_SIZE)
    if not principal.is_regulator:
        statement = statement.where(Complaint.uscc == (principal.uscc or ""))
    return statement


def view(
    complaint: Complaint,
    cluster_size: int,
    principal: Principal,
    on: dt.date | None = None,
    disputed: bool = False,
) -> ComplaintOut:
    """The business's view, or with the complainant for a regulator (art. 33);
    `disputed` while an objection on it is open (SPEC §9)."""
    on = on or today()
    due = clock.current_due(complaint.status, complaint.decision_due_on, complaint.mediation_due_on)
    values: dict[str, Any] = complaint.plain_fields() | {
        "id": complaint.id,
        "scan_proof": complaint.scan_proof,
        "anonymous": complaint.complainant is None,
        "due_on": due,
        "overdue": due is not None and due < on,
        "extension_reason": complaint.extension_reason,
        "cluster_size": cluster_size,
        "created_at": complaint.created_at,
        "version": complaint.version,
        "disputed": disputed,
    }
    if principal.is_regulator:
        return ComplaintPrivileged(
            **values, description=complaint.description, complainant=complaint.complainant
        )
    return ComplaintOut(**values)


async def one(session: Reader, principal: Principal, id: uuid.UUID) -> ComplaintOut:
    row = (await session.execute(readable(principal).where(Complaint.id == id))).first()
    if row is None:
        raise NotFound(f"no complaint {id}")
    disputed = await disputes.disputed(session, "complaint", [id])
    return view(row[0], row[1], principal, disputed=id in disputed)


def overdue_clause(on: dt.date) -> Any:
    return ((Complaint.status == "received") & (Complaint.decision_due_on < on)) | (
        Complaint.status.in_(("accepted", "mediating")) & (Complaint.mediation_due_on < on)
    )


async def page(
    session: Reader,
    principal: Principal,
    *,
    uscc: str | None,
    status: str | None,
    overdue: bool | None,
    kind: str | None,
    after: tuple[dt.date, uuid.UUID] | None,
    limit: int,
) -> list[ComplaintOut]:
    """Oldest first, then by id; `limit + 1` rows so the caller knows of a next page."""
    statement = readable(principal).order_by(Complaint.received_on, Complaint.id)
    on = today()
    statement = where_given(
        statement, (Complaint.uscc, uscc), (Complaint.status, status), (Complaint.kind, kind)
    )
    if overdue is not None:
        clause = overdue_clause(on)
        statement = statement.where(clause if overdue else ~clause)
    if after is not None:
        statement = statement.where(
            (Complaint.received_on > after[0])
            | ((Complaint.received_on == after[0]) & (Complaint.id > after[1]))
        )
    rows = (await session.execute(statement.limit(limit + 1))).all()
    disputed = await disputes.disputed(session, "complaint", [row[0].id for row in rows])
    return [view(row[0], row[1], principal, on, row[0].id in disputed) for row in rows]


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


async def stats(
    session: Reader, authority: str | None, start: dt.date | None, end: dt.date | None
) -> ComplaintStats:
    """Received, handled and closed figures of the cases received in the period (art. 34)."""
    conditions = []
    if authority is not None:
        conditions.append(Complaint.authority == authority)
    if start is not None:
        conditions.append(Complaint.received_on >= start)
    if end is not None:
        conditions.append(Complaint.received_on <= end)
    is_complaint = Complaint.kind == "complaint"
    in_time = and_(
        Complaint.decided_on.is_not(None), Complaint.decided_on <= Complaint.decision_due_on
    )
    row = (
        await session.execute(
            select(
                func.count().filter(is_complaint),
                func.count().filter(is_complaint, in_time),
                func.count().filter(is_complaint, Complaint.accepted_on.is_not(None)),
                func.count().filter(
                    is_complaint,
                    Complaint.accepted_on.is_not(None),
                    Complaint.status.in_(clock.FINAL["complaint"]),
                ),
                func.count().filter(~is_complaint),
                func.count().filter(~is_complaint, in_time),
            ).where(*conditions)
        )
    ).one()
    received, decided, accepted, closed, reports, verified = (int(v) for v in row)
    return ComplaintStats(
        authority=authority,
        from_=start,
        to=end,
        received=received,
        decided_in_time=decided,
        accepted=accepted,
        closed=closed,
        handled_rate=_rate(decided, received),
        closed_rate=_rate(closed, accepted),
        reports_received=reports,
        reports_verified_in_time=verified,
    )


# Credit rule C1's facts (registered in app/wiring.py): substantiated complaints
# as rows of credit's history shape (app/credit/providers.py `Facts`). SQL of
# constants only.
_FACTS_PART = (
    "SELECT 'complaint' AS record_type, c.organization_id,"
    " c.substantiated_recorded_at AS created_at, c.id,"
    " jsonb_build_object('id', c.id, 'substantiated_on', c.substantiated_on,"
    " 'gtin', c.gtin, 'lot', c.lot, 'category', c.category,"
    " 'recorded_at', c.substantiated_recorded_at) AS row"
    " FROM complaints c WHERE c.organization_id {where} AND c.kind = 'complaint'"
    " AND c.substantiated IS TRUE AND c.substantiated_on IS NOT NULL"
)


def read_facts(
    rows: Mapping[str, providers.FactRows], known_at: dt.datetime | None
) -> dict[uuid.UUID, dict[str, tuple[Any, ...]]]:
    """The substantiated complaints of the organizations, recorded by `known_at`
    when given, oldest substantiation first. The policy applies the window of T
    and counts each identical cluster once."""
    found: dict[uuid.UUID, list[ComplaintFact]] = {}
    for org_id, r in rows.get("complaint", ()):
        recorded_at = as_datetime(r["recorded_at"])
        if known_at is not None and (recorded_at is None or recorded_at > known_at):
            continue
        fact = ComplaintFact(
            substantiated_on=as_date(r["substantiated_on"]) or dt.date.min,
            gtin=r["gtin"],
            lot=r["lot"],
            category=r["category"],
            recorded_at=recorded_at,
            id=as_uuid(r["id"]),
        )
        found.setdefault(org_id, []).append(fact)
    return {
        org_id: {"complaints": tuple(sorted(facts, key=lambda f: f.substantiated_on))}
        for org_id, facts in found.items()
    }


FACTS = providers.Facts(part=_FACTS_PART, read=read_facts)
