"""Building policy `History` objects from the database, for many organizations at
once (a constant number of queries), now or as known at a past moment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import String, TextualSelect, bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from app.core.database import Reader
from app.core.fastpath import UUIDS, Compiled
from app.journal.models import AuditEntry
from app.policy import policy
from app.records import models
from app.records.as_policy import RowMap, violation
from app.records.as_policy import as_date as _date
from app.records.as_policy import as_uuid as _uuid


def assessment(row: RowMap) -> policy.Assessment:
    return policy.Assessment(
        id=_uuid(row["id"]),
        grade=row["grade"],
        assessed_on=_date(row["assessed_on"]) or dt.date.min,
        valid_until=_date(row["valid_until"]),
        authority=row["authority"],
    )


def inspection(row: RowMap) -> policy.Inspection:
    return policy.Inspection(
        id=_uuid(row["id"]),
        inspected_on=_date(row["inspected_on"]) or dt.date.min,
        result=row["result"],
        rectified_on=_date(row["rectified_on"]),
        report_no=row["report_no"],
    )


def recall(row: RowMap) -> policy.Recall:
    return policy.Recall(
        id=_uuid(row["id"]),
        initiated_on=_date(row["initiated_on"]) or dt.date.min,
        kind=row["kind"],
        recall_no=row["recall_no"],
        product_name=row["product_name"],
    )


_BUILDERS: dict[str, tuple[type[models.OrganizationRecord], Any, str]] = {
    "grade_assessment": (models.GradeAssessment, assessment, "assessments"),
    "violation": (models.Violation, violation, "violations"),
    "inspection": (models.Inspection, inspection, "inspections"),
    "recall": (models.Recall, recall, "recalls"),
}


def assemble(
    statuses: Mapping[uuid.UUID, str], rows: Iterable[tuple[uuid.UUID, str, RowMap]]
) -> dict[uuid.UUID, policy.History]:
    """The histories of these organizations (id to status) from their records' rows."""
    parts: dict[uuid.UUID, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for org_id, record_type, row in rows:
        _, build, field = _BUILDERS[record_type]
        parts[org_id][field].append(build(row))
    return {
        org_id: policy.History(
            status=status,
            assessments=tuple(parts[org_id]["assessments"]),
            violations=tuple(parts[org_id]["violations"]),
            inspections=tuple(parts[org_id]["inspections"]),
            recalls=tuple(parts[org_id]["recalls"]),
        )
        for org_id, status in statuses.items()
    }


# One kind's rows; filled in with constants of this module only (no input).
_PART = (
    "SELECT '{kind}' AS record_type, t.organization_id, t.created_at, t.id, {row} AS row"
    " FROM {table} t WHERE t.organization_id {where}"
)
_COLUMNS: dict[str, Any] = {
    "record_type": String,
    "organization_id": PG_UUID(as_uuid=True),
    "row": JSONB,
}


def _parts(where: str) -> list[str]:
    """Every record of the organizations `where` selects (`= ANY(:ids)`, say),
    one SELECT per kind: each row as JSON, which the builders read as they read
    stored versions. Private columns stay out; the penalty amount comes as text
    (exact)."""
    parts = []
    for record_type, (model, _, _) in _BUILDERS.items():
        table = model.__table__  # type: ignore[attr-defined]
        row = "to_jsonb(t)"
        if record_type == "violation":
            row = (
                "to_jsonb(t) - 'description' - 'private_salt'"
                " || jsonb_build_object('penalty_amount', t.penalty_amount::text)"
            )
        parts.append(_PART.format(kind=record_type, row=row, table=table.name, where=where))
    return parts


_ORDER = " ORDER BY record_type, created_at, id"
BY_IDS = "= ANY(:ids)"
BY_USCC = "= (SELECT o.id FROM organizations o WHERE o.uscc = :uscc)"


def _select(parts: Sequence[str], where: str) -> TextualSelect:
    """The UNION ALL of `parts`, whose organizations are `where` (`BY_IDS`: the
    parameter `ids`; `BY_USCC`: `uscc`), in this module's row shape."""
    bind = bindparam("ids", type_=UUIDS) if where == BY_IDS else bindparam("uscc", type_=String)
    return text(" UNION ALL ".join(parts) + _ORDER).bindparams(bind).columns(**_COLUMNS)


def _current_statement() -> TextualSelect:
    """Every record of the organizations `:ids`, of the four kinds, in one statement."""
    return _select(_parts(BY_IDS), BY_IDS)


def union(templates: Sequence[str]) -> TextualSelect:
    """Other rows of this module's shape (`templates` on `{where}`: the credit
    providers' facts) for the organizations `:ids`, in one statement."""
    return _select([t.format(where=BY_IDS) for t in templates], BY_IDS)


def with_records(head: str, more: Sequence[str] = ()) -> TextualSelect:
    """`head` (a SELECT of one row per organization in this module's shape, its
    `record_type` none of the records', its organization the one with USCC
    `:uscc`), every record of that organization, and the rows of the templates
    `more` (on `{where}`) for it: one statement, one round trip on the write
    path; read with `split`."""
    parts = [head, *_parts(BY_USCC), *(t.format(where=BY_USCC) for t in more)]
    return _select(parts, BY_USCC)


def split(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[uuid.UUID, str, RowMap]], dict[str, list[tuple[uuid.UUID, RowMap]]]]:
    """Rows of this module's shape: the records' (for `assemble`), and the
    others' by `record_type`."""
    records: list[tuple[uuid.UUID, str, RowMap]] = []
    others: dict[str, list[tuple[uuid.UUID, RowMap]]] = {}
    for r in rows:
        if r["record_type"] in _BUILDERS:
            records.append((r["organization_id"], r["record_type"], r["row"]))
        else:
            others.setdefault(r["record_type"], []).append((r["organization_id"], r["row"]))
    return records, others


_CURRENT = Compiled(_current_statement())


async def current(
    session: Reader, statuses: Mapping[uuid.UUID, str]
) -> dict[uuid.UUID, policy.History]:
    """Everything known now: one query, whatever the number of organizations."""
    ids = list(statuses)
    rows: list[tuple[uuid.UUID, str, RowMap]] = []
    if ids:
        found = await _CURRENT.fetch(session, {"ids": ids})
        rows = [(r["organization_id"], r["record_type"], r["row"]) for r in found]
    return assemble(statuses, rows)


async def known_at(
    session: Reader, organizations: Mapping[uuid.UUID, str], moment: dt.datetime
) -> dict[uuid.UUID, policy.History]:
    """Only what the registry had stored by `moment` (SPEC §4, bitemporal): each
    record's latest version recorded by then, and the organization's status as
    its audit trail shows it then. `organizations` maps id to USCC; organizations
    the registry did not know at `moment` are left out."""
    ids = list(organizations)
    if not ids:
        return {}
    audit = await session.execute(
        select(AuditEntry.entity_id, AuditEntry.after)
        .where(
            AuditEntry.entity == "organization",
            AuditEntry.entity_id.in_(list(organizations.values())),
            AuditEntry.at <= moment,
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    status_by_uscc: dict[str, str] = {}
    for uscc, after in audit:
        if after and "status" in after:
            status_by_uscc[uscc] = after["status"]
    statuses = {
        org_id: status_by_uscc[uscc]
        for org_id, uscc in organizations.items()
        if uscc in status_by_uscc
    }
    latest = (
        select(models.RecordVersion)
        .where(
            models.RecordVersion.organization_id.in_(list(statuses)),
            models.RecordVersion.recorded_at <= moment,
        )
        .order_by(
            models.RecordVersion.record_type,
            models.RecordVersion.record_id,
            models.RecordVersion.version.desc(),
        )
        .ext(distinct_on(models.RecordVersion.record_type, models.RecordVersion.record_id))
    )
    versions = (await session.scalars(latest)).all()
    versions = sorted(versions, key=lambda v: (v.data.get("created_at") or "", str(v.record_id)))
    rows = [(v.organization_id, v.record_type, v.data) for v in versions]
    return assemble(statuses, rows)
