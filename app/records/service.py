"""Recording, correcting and reading records; every write is versioned, audited
and published as a change event in the same transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, and_, bindparam, case, func, insert, inspect, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.calendar.days import WorkCalendar
from app.changes import redaction
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired, invalid
from app.core.fastpath import Compiled
from app.core.principal import Principal
from app.journal.leaf import jsonable
from app.organizations.models import Organization
from app.policy import months, publication, versions
from app.policy.policy import POLICY_V1
from app.records import as_policy, models
from app.records.kinds import VIOLATION, Kind
from app.records.models import OrganizationRecord, RecordVersion
from app.records.schemas import RecordOut

# Set by the server or a repair decision, never by a client's body.
_SERVER_FIELDS = {"id", "organization_id", "version", "created_at", "created_by", "updated_at"}


def snapshot(record: OrganizationRecord) -> dict[str, Any]:
    """A record's fields as JSON-safe data (for versions, audit and events)."""
    mapper = inspect(type(record))
    data: dict[str, Any] = jsonable(
        {c.key: getattr(record, c.key) for c in mapper.column_attrs if c.key != "private_salt"}
    )
    return data


def audited(record: OrganizationRecord) -> dict[str, Any]:
    """The snapshot as it enters the audit log: the internal description only as
    SHA-256(salt ‖ value), the salt in the violation's own row (SPEC §7)."""
    data = snapshot(record)
    if isinstance(record, models.Violation):
        data["description"] = journal.private_digest(record.private_salt, record.description)
    return data


def public_snapshot(kind: Kind, record: OrganizationRecord, uscc: str) -> dict[str, Any]:
    """What partners may read in the change feed: the public view's fields — and for
    a violation past its publication period, only that it changed (SPEC §5: after
    that period only regulators see it)."""
    if isinstance(record, models.Violation) and not violation_is_public(record):
        return {"id": str(record.id), "public": False}
    data: dict[str, Any] = jsonable(view(kind, record, uscc, privileged=False).model_dump())
    return data


def violation_is_public(v: models.Violation, on: dt.date | None = None) -> bool:
    """Inside its publication period (信用信息公示期) on `on` (today), under the policy
    version in force that day (SPEC §4.1)."""
    day = on or today()
    schedule = versions.current()
    if schedule.in_force(day).publication_rule == "order45" and v.public_until is not None:
        return v.public_from is not None and v.public_from <= day < v.public_until
    return publication.is_public(as_policy.violation_of(v), day, schedule)


async def publication_fields(
    session: AsyncSession, values: dict[str, Any], *, imported: bool = False
) -> None:
    """`published_on` (default: the day it is recorded under policy v2, else — and for
    imports — `decided_on`) and `published_late` (SAMR Order 45 art. 9: more than 20
    working days after the decision), for a new or corrected violation."""
    set_publication_fields(await calendar_service.current(session), values, imported=imported)


def set_publication_fields(
    calendar: WorkCalendar, values: dict[str, Any], *, imported: bool = False
) -> None:
    """`publication_fields` with the calendar in force already read (an import
    reads it once for all its rows)."""
    p = versions.current().in_force(today())
    if values.get("published_on") is None:
        recorded_v2 = p.publication_rule == "order45" and not imported
        values["published_on"] = today() if recorded_v2 else values["decided_on"]
    decided = values["decided_on"]
    due = calendar.working_deadline(decided, p.publication_due_working_days)
    calendar_service.warn_unknown(calendar, decided, due)
    values["published_late"] = values["published_on"] > due


async def feed_data(
    session: Reader, events: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The `(type, data)` of change events as a partner may read them today.

    The feed is append-only, and an event's data was public when it was emitted;
    a violation whose publication period has since ended (time passed, or it was
    corrected to a shorter one) is redacted here, at read time (SPEC §5): its
    events become `{"id", "public": false}` and repairs stop naming it.
    """
    wanted: set[uuid.UUID] = set()
    for type_, data in events:
        key = data.get("id") if type_.startswith("violation.") else data.get("violation_id")
        if type_.startswith(("violation.", "repair.")) and isinstance(key, str):
            with contextlib.suppress(ValueError):
                wanted.add(uuid.UUID(key))
    hidden: set[str] = set()
    if wanted:
        found = await session.scalars(
            select(models.Violation).where(models.Violation.id.in_(wanted))
        )
        hidden = {str(v.id) for v in found if not violation_is_public(v)}
    out: list[dict[str, Any]] = []
    for type_, data in events:
        if type_.startswith("violation.") and data.get("id") in hidden:
            data = {"id": data["id"], "public": False}
        elif type_.startswith("repair.") and data.get("violation_id") in hidden:
            data = {k: v for k, v in data.items() if k != "violation_id"}
        out.append(data)
    return out


redaction.register_redactor(feed_data)


def violation_status(v: models.Violation) -> str:
    if v.revoked_on:
        return "revoked"
    if v.repaired_on:
        return "repaired"
    if v.rectified_on:
        return "rectified"
    return "open"


def view(
    kind: Kind, record: OrganizationRecord, uscc: str, *, privileged: bool, disputed: bool = False
) -> RecordOut:
    schema = kind.privileged if privileged else kind.public
    values = {c.key: getattr(record, c.key) for c in inspect(type(record)).column_attrs}
    values["uscc"] = uscc
    values["disputed"] = disputed
    if isinstance(record, models.Violation):
        values["status"] = violation_status(record)
    return schema.model_validate(values)


def etag(record: OrganizationRecord) -> str:
    return f'"v{record.version}"'


# A record's version, inserted by the driver (app/core/fastpath.py): through the
# session's unit of work it was a second flush per write.
_VERSION = Compiled(
    insert(RecordVersion).values({c.name: bindparam(c.name) for c in RecordVersion.__table__.c})
)


async def _versioned(
    session: AsyncSession,
    actor: Principal,
    kind: Kind,
    record: OrganizationRecord,
    org: Organization,
    *,
    action: str,
    change: str,
    event: str,
    before: dict[str, Any] | None = None,
    more: dict[str, Any] | None = None,
) -> None:
    """The tail of a record's write, once the record is stored: add its numbered
    version (`change`) and journal it: `<kind>.<action>`, and the event
    `<kind>.<event>` with its public snapshot (and `more`)."""
    await _VERSION.write(
        session,
        {
            "record_type": kind.name,
            "record_id": record.id,
            "version": record.version,
            "organization_id": record.organization_id,
            "change": change,
            "data": snapshot(record),
            "recorded_at": record.updated_at,
            "recorded_by": actor.key_id,
            "recorded_role": actor.role.value,
        },
    )
    await journal.record(
        session,
        actor,
        action=f"{kind.name}.{action}",
        entity=kind.name,
        entity_id=str(record.id),
        uscc=org.uscc,
        before=before,
        after=audited(record),
        event=(f"{kind.name}.{event}", public_snapshot(kind, record, org.uscc) | (more or {})),
        at=record.updated_at,
    )


async def _check_unique(session: AsyncSession, kind: Kind, values: dict[str, Any]) -> None:
    if not kind.natural_key:
        return
    columns = [getattr(kind.model, k) for k in kind.natural_key]
    wanted = tuple(values[k] for k in kind.natural_key)
    existing = await session.scalar(
        select(kind.model.id).where(tuple_(*columns) == tuple_(*wanted))
    )
    if existing is not None:
        named = ", ".join(f"{k} {values[k]!r}" for k in kind.natural_key)
        raise Conflict(f"a {kind.name.replace('_', ' ')} with {named} exists: {existing}")


async def create(
    session: AsyncSession,
    actor: Principal,
    kind: Kind,
    org: Organization,
    data: BaseModel,
    *,
    imported: bool = False,
) -> OrganizationRecord:
    """Record a new grade assessment, violation, inspection or recall."""
    values = data.model_dump()
    await _check_unique(session, kind, values)
    if kind is VIOLATION:
        await publication_fields(session, values, imported=imported)
    params = values | {
        "id": uuid.uuid4(),
        "organization_id": org.id,
        "version": 1,
        "created_by": actor.key_id,
    }
    if kind is VIOLATION:
        params["private_salt"] = secrets.token_bytes(16)
    (row,) = await _insert(kind, frozenset(params)).write(session, params)
    record = kind.model(**{k: row[c.name] for k, c in inspect(kind.model).columns.items()})
    await _versioned(
        session,
        actor,
        kind,
        record,
        org,
        action="create",
        change="created",
        event="recorded",
    )
    return record


_INSERTS: dict[tuple[str, frozenset[str]], Compiled] = {}


def _insert(kind: Kind, columns: frozenset[str]) -> Compiled:
    """A new record's INSERT by the driver (app/core/fastpath.py), its whole row
    returned (server defaults included): through the session's unit of work it
    was a flush per write. Its `created_at` and `updated_at` are the database's
    clock at the insert (`db_now`'s, without a round trip of their own). One
    statement per kind and set of given columns."""
    key = (kind.name, columns)
    if (found := _INSERTS.get(key)) is None:
        table = inspect(kind.model).local_table
        clock = select(func.clock_timestamp().label("now")).subquery("clock")
        values: dict[str, Any] = {c: bindparam(c, type_=table.c[c].type) for c in sorted(columns)}
        values |= {"created_at": clock.c.now, "updated_at": clock.c.now}
        statement = insert(table).from_select(list(values), select(*values.values()))
        found = _INSERTS[key] = Compiled(statement.returning(*table.c))
    return found


async def find(
    session: Reader, kind: Kind, record_id: uuid.UUID, *, for_update: bool = False
) -> tuple[OrganizationRecord, Organization]:
    statement = (
        select(kind.model, Organization)
        .join(Organization, Organization.id == kind.model.organization_id)
        .where(kind.model.id == record_id)
    )
    if for_update:
        statement = statement.with_for_update(of=kind.model)
    row = (await session.execute(statement)).first()
    if row is None:
        raise NotFound(f"no {kind.name.replace('_', ' ')} {record_id}")
    return row[0], row[1]


def _check_dates(kind: Kind, merged: dict[str, Any]) -> None:
    """Cross-field date rules, checked on the merged record (a 422, not a DB error)."""
    if kind is VIOLATION:
        for field in ("rectified_on", "revoked_on"):
            if merged[field] is not None and merged[field] < merged["decided_on"]:
                raise invalid(field, "is before decided_on")
        if merged["repaired_on"] is not None and merged["revoked_on"] is not None:
            raise invalid("revoked_on", "a repaired violation cannot be revoked")
    if kind.name == "inspection" and merged["rectified_on"] is not None:
        if merged["result"] != "fail":
            raise invalid("rectified_on", "only a failed inspection can be rectified")
        if merged["rectified_on"] < merged["inspected_on"]:
            raise invalid("rectified_on", "is before inspected_on")


async def patch(
    session: AsyncSession,
    actor: Principal,
    kind: Kind,
    record_id: uuid.UUID,
    data: BaseModel,
    *,
    if_match: str | None,
) -> tuple[OrganizationRecord, Organization]:
    """Create the next version of a record (If-Match required)."""
    if if_match is None:
        raise PreconditionRequired("If-Match is required to change a versioned record")
    record, org = await find(session, kind, record_id, for_update=True)
    if if_match.strip() not in (etag(record), f"W/{etag(record)}"):
        raise PreconditionFailed(
            f"the record has changed: If-Match does not match the current ETag {etag(record)}"
        )
    changes_ = {
        k: v for k, v in data.model_dump(exclude_unset=True).items() if k not in _SERVER_FIELDS
    }
    await apply_changes(session, actor, kind, record, org, changes_)
    return record, org


async def apply_changes(
    session: AsyncSession,
    actor: Principal,
    kind: Kind,
    record: OrganizationRecord,
    org: Organization,
    changes_: dict[str, Any],
    *,
    change: str | None = None,
) -> bool:
    """Write the next version of a locked record; False when nothing changes."""
    before = audited(record)
    merged = {c.key: getattr(record, c.key) for c in inspect(type(record)).column_attrs} | changes_
    _check_dates(kind, merged)
    if kind is VIOLATION and {"published_on", "decided_on"} & changes_.keys():
        dates = {k: merged[k] for k in ("published_on", "decided_on")}
        await publication_fields(session, dates)
        changes_ = changes_ | {"published_late": dates["published_late"]}
    if all(getattr(record, k) == v for k, v in changes_.items()):
        return False
    for key, value in changes_.items():
        setattr(record, key, value)
    record.version += 1
    record.updated_at = await db_now(session)
    await session.flush()
    change = change or _describe(kind, changes_)
    await _versioned(
        session,
        actor,
        kind,
        record,
        org,
        action=change,
        change=change,
        event="updated",
        before=before,
        more={"change": change},
    )
    return True


def _describe(kind: Kind, changed: dict[str, Any]) -> str:
    for field, word in (
        ("revoked_on", "revoked"),
        ("rectified_on", "rectified"),
        ("status", "status"),
    ):
        if field in changed:
            return word
    return "corrected"


async def history(session: Reader, kind: Kind, record_id: uuid.UUID) -> list[RecordVersion]:
    await find(session, kind, record_id)
    rows = await session.scalars(
        select(RecordVersion)
        .where(RecordVersion.record_type == kind.name, RecordVersion.record_id == record_id)
        .order_by(RecordVersion.version)
    )
    return list(rows.all())


def public_violation_clause(on: dt.date) -> Any:
    """Violations inside their publication period (信用信息公示期) on `on`, under the
    version in force that day: v2's period is kept in the row by the credit refresh."""
    v = models.Violation
    v1 = _v1_public_clause(on)
    if versions.current().in_force(on).publication_rule != "order45":
        return v1
    return or_(
        and_(v.public_until.is_not(None), v.public_from <= on, v.public_until > on),
        and_(v.public_until.is_(None), v1),
    )


def _v1_public_clause(on: dt.date) -> Any:
    policy = POLICY_V1
    v = models.Violation
    return and_(
        v.decided_on <= on,
        or_(
            and_(
                v.severity == "minor",
                v.decided_on > months.add_months(on, -policy.publication_minor_months),
            ),
            and_(
                v.severity == "general",
                v.decided_on > months.add_months(on, -policy.publication_general_months),
            ),
            and_(
                v.severity == "serious",
                v.decided_on > months.add_months(on, -policy.publication_serious_months),
            ),
        ),
    )


def violation_status_column() -> Any:
    v = models.Violation
    return case(
        (v.revoked_on.is_not(None), "revoked"),
        (v.repaired_on.is_not(None), "repaired"),
        (v.rectified_on.is_not(None), "rectified"),
        else_="open",
    )


def list_statement(
    kind: Kind,
    org: Organization,
    *,
    public_only: bool,
    date_from: dt.date | None,
    date_to: dt.date | None,
    status: str | None,
    after: tuple[dt.date, uuid.UUID] | None,
    limit: int,
) -> Select[Any]:
    """Newest first by the record's own date, then id; keyset pagination."""
    model = kind.model
    date_column = getattr(model, kind.date_field)
    statement = (
        select(model)
        .where(model.organization_id == org.id)
        .order_by(date_column.desc(), model.id.desc())
        .limit(limit)
    )
    if date_from:
        statement = statement.where(date_column >= date_from)
    if date_to:
        statement = statement.where(date_column <= date_to)
    if status:
        if kind is VIOLATION:
            statement = statement.where(violation_status_column() == status)
        elif kind.name == "inspection":
            statement = statement.where(models.Inspection.result == status)
        elif kind.name == "recall":
            statement = statement.where(models.Recall.status == status)
    if public_only and kind is VIOLATION:
        statement = statement.where(public_violation_clause(today()))
    if after:
        statement = statement.where(tuple_(date_column, model.id) < tuple_(*after))
    return statement
