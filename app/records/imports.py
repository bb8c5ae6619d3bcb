"""CSV import of violations: `mode=atomic` (all or nothing) or `mode=partial`.

Encodings: UTF-8 with or without BOM, and GB18030 (what Chinese spreadsheets
export). Rows are reported by file line (the header is line 1).

What an import holds (SPEC §7, §8: nothing serialises writers). Neither mode
takes a lock beyond the rows it writes: its new violations, their versions and
entries, and — through the foreign keys and the credit refresh — the rows of the
organizations it names (a write to one of those waits for it; a write to any
other organization does not). `mode=atomic` is one transaction, so its rows
commit together or not at all. `mode=partial` commits every `CHUNK` rows (the
caller's `checkpoint`): each chunk's organizations are released, and its entries
sequenced, while the next chunk is written; a chunk that meets a deadlock is
written again, and one that cannot be written ends the import with what the
earlier chunks committed (`ImportInterrupted`).
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import Integer, String, any_, bindparam, func, insert, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.core import giveway
from app.core.errors import Conflict, field_name, sqlstate
from app.core.principal import Principal
from app.core.routing import RETRY_STATES
from app.organizations import codes
from app.organizations.models import Organization
from app.records import service
from app.records.kinds import VIOLATION
from app.records.models import RecordVersion, Violation
from app.records.schemas import ViolationCreate

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
CHUNK = 500  # rows per transaction in mode=partial
CHUNK_ATTEMPTS = 3  # a chunk that meets a deadlock or serialisation failure
# Rows per statement: what one statement's rows cost the process (building its
# parameters, reading what it returns) is spent between two turns, and stays
# short for the other requests.
BATCH = 100
_ALREADY_RECORDED = {
    "field": "case_no",
    "message": "duplicate: this authority's case is already recorded",
}
COLUMNS = (
    "uscc",
    "case_no",
    "authority",
    "decided_on",
    "category",
    "severity",
    "description",
    "public_summary",
    "penalty_amount",
    "rectified_on",
)
REQUIRED = ("uscc", "case_no", "authority", "decided_on", "category", "severity", "public_summary")


# Statements of a chunk: a clock reading per row (each violation its own, as
# `service.create` reads one), and the violations, skipping a case recorded
# since the file was checked.
_CLOCK = select(func.clock_timestamp()).select_from(
    func.generate_series(1, bindparam("n", type_=Integer))
)
# The file's organizations and its cases already recorded, each in one statement
# with array parameters: a list of thousands of bound values took longer to
# build and compile than to run, all of it between two turns of the event loop.
_CODES = bindparam("codes", type_=ARRAY(String))
_ORGANIZATIONS = select(Organization).where(
    or_(Organization.uscc == any_(_CODES), Organization.org_code == any_(_CODES))
)
_EXISTING = select(Violation.authority, Violation.case_no).where(
    tuple_(Violation.authority, Violation.case_no).in_(
        select(
            func.unnest(bindparam("authorities", type_=ARRAY(String))),
            func.unnest(bindparam("case_nos", type_=ARRAY(String))),
        )
    )
)
_INSERT = (
    pg_insert(Violation)
    .on_conflict_do_nothing(constraint="uq_violations_authority_case_no")
    .returning(Violation)
)


class RowProblem(BaseModel):
    line: int
    reasons: list[dict[str, str]]


class RowCreated(BaseModel):
    line: int
    id: uuid.UUID
    uscc: str
    case_no: str


class ImportReport(BaseModel):
    mode: Literal["atomic", "partial"]
    rows: int
    imported: int
    rejected: list[RowProblem]
    created: list[RowCreated]


class ImportRejected(Exception):
    """An atomic import with rejected rows, or a file that cannot be read at all."""

    def __init__(self, detail: str, report: ImportReport | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.report = report


class ImportInterrupted(Exception):
    """A partial import that could not write a chunk: the chunks before it are
    committed (`report` says which rows), the rest is not."""

    def __init__(self, report: ImportReport, cause: Exception) -> None:
        super().__init__(f"the import stopped after {report.imported} rows: {cause!r}")
        self.report = report
        self.cause = cause


Checkpoint = Callable[[], Awaitable[None]]
Accepted = tuple[int, Organization, ViolationCreate]


def decode(data: bytes) -> str:
    """UTF-8 (BOM optional), else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportRejected("the file is neither UTF-8 nor GB18030 text") from None


def parse(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportRejected("the file is empty: a header row is required") from None
    except csv.Error as exc:
        raise ImportRejected(f"line 1: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRejected(f"the header lacks the columns {', '.join(missing)}")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise ImportRejected(f"unknown columns {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        # A row is named by the file line it starts on: a quoted field may span lines.
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRejected(f"more than {MAX_ROWS} rows: split the file")
            rows.append((line, dict(zip(header, record, strict=False))))
    except csv.Error as exc:
        raise ImportRejected(f"line {reader.line_num}: {exc}") from None
    return header, rows


def _validate_row(
    row: dict[str, str],
) -> tuple[str | None, ViolationCreate | None, list[dict[str, str]]]:
    reasons: list[dict[str, str]] = []
    code: str | None = None
    try:
        code = codes.parse_code(row.get("uscc", "")).value
    except codes.InvalidCode as exc:
        reasons.append({"field": "uscc", "message": str(exc)})
    values: dict[str, Any] = {
        k: v.strip() for k, v in row.items() if k != "uscc" and v is not None and v.strip() != ""
    }
    try:
        violation = ViolationCreate.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            reasons.append(
                {
                    "field": field_name(("body", *error["loc"])) or "row",
                    "message": str(error["msg"]).removeprefix("Value error, "),
                }
            )
        return code, None, reasons
    return code, violation, reasons


async def run(
    session: AsyncSession,
    actor: Principal,
    data: bytes,
    mode: Literal["atomic", "partial"],
    checkpoint: Checkpoint | None = None,
) -> ImportReport:
    """Check every row, then write the accepted ones: in the caller's transaction
    (`mode=atomic`, or no `checkpoint`), or committing each chunk with
    `checkpoint()` (`mode=partial`: see the module docstring). Bulk work: it
    gives way to the process's other requests (app/core/giveway.py)."""
    with giveway.bulk():
        return await _run(session, actor, data, mode, checkpoint)


async def _run(
    session: AsyncSession,
    actor: Principal,
    data: bytes,
    mode: Literal["atomic", "partial"],
    checkpoint: Checkpoint | None,
) -> ImportReport:
    _, rows = parse(decode(data))
    checked = []
    for line, row in rows:
        await giveway.turn()
        checked.append((line, *_validate_row(row)))

    wanted_codes = {code for _, code, _, _ in checked if code}
    orgs = {}
    if wanted_codes:
        found = await session.scalars(_ORGANIZATIONS, {"codes": list(wanted_codes)})
        for org in found:
            orgs[org.uscc] = org
            orgs[org.org_code] = org
    keys = {(v.authority, v.case_no) for _, _, v, _ in checked if v}
    existing: set[tuple[str, str]] = set()
    if keys:
        authorities, case_nos = zip(*keys, strict=True)
        result = await session.execute(
            _EXISTING, {"authorities": list(authorities), "case_nos": list(case_nos)}
        )
        existing = {(a, c) for a, c in result}

    rejected: list[RowProblem] = []
    accepted: list[Accepted] = []
    seen: dict[tuple[str, str], int] = {}
    for line, code, violation, reasons in checked:
        if code and code not in orgs:
            reasons.append({"field": "uscc", "message": f"no organization with code {code}"})
        if violation is not None:
            key = (violation.authority, violation.case_no)
            if key in existing:
                reasons.append(dict(_ALREADY_RECORDED))
            elif key in seen:
                reasons.append(
                    {"field": "case_no", "message": f"duplicate of line {seen[key]} in this file"}
                )
            else:
                seen[key] = line
        if reasons or violation is None or code is None:
            rejected.append(RowProblem(line=line, reasons=reasons))
        else:
            accepted.append((line, orgs[code], violation))

    report = ImportReport(mode=mode, rows=len(rows), imported=0, rejected=rejected, created=[])
    if mode == "atomic" and rejected:
        raise ImportRejected(
            f"{len(rejected)} of {len(rows)} rows were rejected; nothing was imported", report
        )
    if mode == "atomic" or checkpoint is None:
        await _write(session, actor, accepted, report, skip_duplicates=False)
    else:
        await _write_in_chunks(session, actor, accepted, report, checkpoint)
    report.created.sort(key=lambda c: c.line)
    report.rejected.sort(key=lambda r: r.line)
    report.imported = len(report.created)
    return report


async def _write(
    session: AsyncSession,
    actor: Principal,
    rows: Sequence[Accepted],
    report: ImportReport,
    *,
    skip_duplicates: bool,
) -> None:
    """Create the rows in the caller's transaction, storing for each what
    `service.create` stores, but `BATCH` rows at a time with a statement for all
    of them where it makes one per row. A case recorded by someone else since the
    file was checked is not written: rejected, or a 409 when `skip_duplicates` is
    false. Listeners that coalesce (the credit refresh) run once per
    organization, at the end."""
    async with journal.deferred(session):
        for start in range(0, len(rows), BATCH):
            await giveway.turn()
            batch = rows[start : start + BATCH]
            inserted = await _insert_violations(session, actor, batch)
            written: list[tuple[int, Organization, Violation]] = []
            for line, org, violation in batch:
                record = inserted.get((violation.authority, violation.case_no))
                if record is not None:
                    written.append((line, org, record))
                elif skip_duplicates:
                    report.rejected.append(RowProblem(line=line, reasons=[_ALREADY_RECORDED]))
                else:
                    raise await _recorded_since(session, violation)
            await _record_created(session, actor, written, report)


async def _insert_violations(
    session: AsyncSession, actor: Principal, rows: Sequence[Accepted]
) -> dict[tuple[str, str], Violation]:
    """The violations, each with its own clock reading (one round trip for all),
    by `(authority, case_no)`; a case recorded meanwhile is left out."""
    calendar = await calendar_service.current(session)
    times = (await session.scalars(_CLOCK, {"n": len(rows)})).all()
    values = []
    for (_, org, violation), now in zip(rows, times, strict=True):
        await giveway.turn()
        fields = violation.model_dump()
        service.set_publication_fields(calendar, fields, imported=True)
        values.append(
            {"organization_id": org.id, "created_by": actor.key_id, "created_at": now}
            | {"updated_at": now, "private_salt": secrets.token_bytes(16)}
            | fields
        )
    return {(v.authority, v.case_no): v for v in await session.scalars(_INSERT, values)}


async def _record_created(
    session: AsyncSession,
    actor: Principal,
    written: Sequence[tuple[int, Organization, Violation]],
    report: ImportReport,
) -> None:
    """The violations' first versions, and an audit entry and change event each."""
    versions, writes = [], []
    for line, org, record in written:
        await giveway.turn()
        versions.append(
            {"record_type": VIOLATION.name, "record_id": record.id, "version": record.version}
            | {"organization_id": org.id, "change": "created", "data": service.snapshot(record)}
            | {"recorded_at": record.updated_at, "recorded_by": actor.key_id}
            | {"recorded_role": actor.role.value}
        )
        writes.append(
            journal.Write(
                action=f"{VIOLATION.name}.create",
                entity=VIOLATION.name,
                entity_id=str(record.id),
                uscc=org.uscc,
                after=service.audited(record),
                event=(
                    f"{VIOLATION.name}.recorded",
                    service.public_snapshot(VIOLATION, record, org.uscc),
                ),
                at=record.created_at,
            )
        )
        report.created.append(
            RowCreated(line=line, id=record.id, uscc=org.uscc, case_no=record.case_no)
        )
    if versions:
        await session.execute(insert(RecordVersion), versions)
    await journal.record_many(session, actor, writes)


async def _recorded_since(session: AsyncSession, violation: ViolationCreate) -> Conflict:
    """The 409 of `service.create` for a case recorded since the file was checked."""
    existing = await session.scalar(
        select(Violation.id).where(
            Violation.authority == violation.authority, Violation.case_no == violation.case_no
        )
    )
    return Conflict(
        f"a violation with authority {violation.authority!r}, case_no {violation.case_no!r} "
        f"exists: {existing}"
    )


async def _write_in_chunks(
    session: AsyncSession,
    actor: Principal,
    accepted: Sequence[Accepted],
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """`mode=partial`: a transaction per `CHUNK` rows; a chunk that meets a deadlock
    is rolled back and written again (the earlier chunks stay committed)."""
    for start in range(0, len(accepted), CHUNK):
        chunk = accepted[start : start + CHUNK]
        ids = {org.id for _, org, _ in chunk}
        for attempt in range(CHUNK_ATTEMPTS):
            created, rejected = len(report.created), len(report.rejected)
            try:
                await _write(session, actor, chunk, report, skip_duplicates=True)
                await checkpoint()
                break
            except Exception as exc:
                del report.created[created:], report.rejected[rejected:]
                await session.rollback()
                retry = isinstance(exc, DBAPIError) and sqlstate(exc) in RETRY_STATES
                if not retry or attempt == CHUNK_ATTEMPTS - 1:
                    report.imported = len(report.created)
                    raise ImportInterrupted(report, exc) from exc
                # The rollback expired the organizations: load them again.
                await session.execute(select(Organization).where(Organization.id.in_(ids)))
