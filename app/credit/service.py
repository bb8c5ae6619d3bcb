"""The credit engine's I/O: materialise current status in the writing transaction,
answer time-travel queries, refresh statuses whose window edge has passed."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from app import journal
from app.core import giveway
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.fastpath import Compiled, any_uuid
from app.core.progress import Advance
from app.credit import history, providers
from app.credit.models import CreditStatus
from app.organizations import notify as organization_notify
from app.organizations.models import Organization
from app.policy import policy, publication, versions
from app.records.models import Violation

S_RULES = policy.BLACK_LIST_RULES
FLAGS = ("grade", "a_level", "red_list", "black_list", "black_list_pending")


def published_until(
    v: policy.Violation, on: dt.date, hist: policy.History | None = None
) -> dt.date:
    """The first day a violation is no longer public (end of its 公示期), under the
    version in force on `on` (SPEC §4.1: the period of a read is that of its day)."""
    others = hist.violations if hist is not None else ()
    return publication.public_until(v, on, versions.current(), others)


def reason_json(
    reason: policy.Reason,
    hist: policy.History,
    on: dt.date,
    violations: dict[uuid.UUID, policy.Violation] | None = None,
) -> dict[str, Any]:
    """A reason as stored; `violations`: the history's by id (when many reasons
    name them: a linear search each grows with the square of their number)."""
    out: dict[str, Any] = {
        "rule_id": reason.rule_id,
        "effect": reason.effect,
        "record_type": reason.record_type,
        "record_id": str(reason.record_id) if reason.record_id else None,
        "explanation_zh": reason.explanation_zh,
        "explanation_en": reason.explanation_en,
    }
    if reason.record_type == "violation":
        if violations is None:
            violations = {v.id: v for v in hist.violations}
        found = violations.get(reason.record_id) if reason.record_id else None
        if found is not None:
            out["published_until"] = published_until(found, on, hist).isoformat()
    if reason.disputed:
        out["disputed"] = True
    return out


REDACTED_ZH = "一项已过信用信息公示期的违法行为（仍在评价期内）"
REDACTED_EN = "a violation past its publication period (still inside its window)"


def public_reasons(reasons: Iterable[dict[str, Any]], on: dt.date) -> list[dict[str, Any]]:
    """Reasons as the public may see them: a violation past its publication period
    still shapes the grade, but is neither identified nor described."""
    out = []
    for r in reasons:
        until = r.get("published_until")
        r = {k: v for k, v in r.items() if k != "published_until"}
        if until and on >= dt.date.fromisoformat(until):
            r |= {"record_id": None, "explanation_zh": REDACTED_ZH, "explanation_en": REDACTED_EN}
        out.append(r)
    return out


def public_until(reasons: Iterable[dict[str, Any]], on: dt.date) -> dt.date | None:
    """The last day `public_reasons(reasons, on)` stays right (None: for good)."""
    ends = [
        dt.date.fromisoformat(r["published_until"])
        for r in reasons
        if r.get("published_until") and dt.date.fromisoformat(r["published_until"]) > on
    ]
    return min(ends) - dt.timedelta(days=1) if ends else None


@dataclass(frozen=True)
class Evaluated:
    organization_id: uuid.UUID
    uscc: str
    result: policy.CreditResult
    reasons: list[dict[str, Any]]
    listed_since: dt.date | None


def evaluate(org_id: uuid.UUID, uscc: str, hist: policy.History, on: dt.date) -> Evaluated:
    """The result on `on` under the policy version in force that day."""
    schedule = versions.current()
    result = policy.evaluate(hist, on, schedule)
    since = policy.black_listed_since(hist, on, schedule) if result.black_list else None
    violations = {v.id: v for v in hist.violations}
    reasons = [reason_json(r, hist, on, violations) for r in result.reasons]
    return Evaluated(org_id, uscc, result, reasons, since)


async def histories_of(
    session: Reader, statuses: dict[uuid.UUID, str]
) -> dict[uuid.UUID, policy.History]:
    """Everything known now, with the registered providers' facts (complaints, notices)."""
    return await providers.with_facts(session, await history.current(session, statuses))


async def histories_known_at(
    session: Reader, organizations: dict[uuid.UUID, str], moment: dt.datetime
) -> dict[uuid.UUID, policy.History]:
    """Only what the registry had stored by `moment`, facts included."""
    found = await history.known_at(session, organizations, moment)
    return await providers.with_facts(session, found, moment)


async def _store_publication_periods(
    session: AsyncSession, histories: dict[uuid.UUID, policy.History]
) -> None:
    """Keep each violation's SAMR Order 45 period (the latest version that uses it)
    in its row, for the SQL of public reads; early stop depends on the organization's
    other violations, so all of them are derived together."""
    order45 = [p for p in versions.current().versions if p.publication_rule == "order45"]
    if not order45:
        return
    rows = []
    for i, hist in enumerate(histories.values()):
        if i:  # each organization's periods between two turns (bulk: app/core/giveway.py)
            await giveway.turn()
        for v in hist.violations:
            found = publication.period(v, order45[-1], hist.violations)
            start, end = found if found is not None else (v.decided_on, v.decided_on)
            rows.append({"vid": v.id, "public_from": start, "public_until": end})
    if rows:
        table = Violation.__table__
        c = table.c
        await session.execute(
            update(table)  # type: ignore[arg-type]
            .where(
                c.id == bindparam("vid"),
                or_(
                    c.public_from.is_distinct_from(bindparam("public_from")),
                    c.public_until.is_distinct_from(bindparam("public_until")),
                ),
            )
            .values(public_from=bindparam("public_from"), public_until=bindparam("public_until")),
            rows,
        )


# The fields of a credit answer, in the answer's order: the stored status, the
# evaluated one and the SQL-built answers (app/credit/answers.py) all use this list.
CREDIT_FIELDS = (
    "uscc",
    "grade",
    "assessed_grade",
    "a_level",
    "red_list",
    "black_list",
    "reasons",
    "policy_version",
    "as_of",
    "holds_until",
    "listed_since",
    "expected_exit",
    "black_list_pending",
    "notice_id",
    "updated_at",
)


def fields_of(e: Evaluated, updated_at: dt.datetime | None = None) -> dict[str, Any]:
    """An evaluated result as the credit fields (full reasons)."""
    row = _row(e, updated_at)
    return {f: row[f] for f in CREDIT_FIELDS}


def stored_fields(status: CreditStatus) -> dict[str, Any]:
    """A stored status as the credit fields (full reasons)."""
    return {f: getattr(status, f) for f in CREDIT_FIELDS}


def _row(e: Evaluated, now: dt.datetime | None) -> dict[str, Any]:
    r = e.result
    on = r.as_of
    return {
        "organization_id": e.organization_id,
        "uscc": e.uscc,
        "grade": r.grade,
        "assessed_grade": r.assessed_grade,
        "a_level": r.a_level,
        "red_list": r.red_list,
        "black_list": r.black_list,
        "reasons": e.reasons,
        "policy_version": r.policy_version,
        "as_of": r.as_of,
        "holds_until": r.holds_until,
        "listed_since": e.listed_since,
        "expected_exit": r.expected_exit,
        "black_list_pending": r.black_list_pending,
        "notice_id": r.notice_id,
        "updated_at": now,
        # What the public and partners see, stored beside the full reasons so
        # that reads need not filter them (right until `public_until`).
        "public_reasons": public_reasons(e.reasons, on),
        "public_until": public_until(e.reasons, on),
    }


def _inputs_statement(where: ColumnElement[bool]) -> Select[Any]:
    """The organizations `where` selects: their USCCs, their statuses and their
    stored flags (for `credit.changed`), where stored. Built once per condition."""
    stored = [getattr(CreditStatus, f) for f in FLAGS]
    return (
        select(
            Organization.id,
            Organization.uscc,
            Organization.status,
            CreditStatus.organization_id.label("stored"),
            *stored,
        )
        .outerjoin(CreditStatus, CreditStatus.organization_id == Organization.id)
        .where(where)
    )


_INPUTS_BY_ID = Compiled(_inputs_statement(Organization.id == any_uuid()))
# One organization's inputs as above (one JSON row) and all its records, in one
# round trip: what a write's refresh reads (app/credit/history.py `with_records`).
_INPUTS_BY_USCCS = Compiled(
    _inputs_statement(Organization.uscc == func.any(bindparam("usccs", type_=ARRAY(String))))
)
# One organization's inputs as above (as one JSON row) and all its records, in
# one round trip: what a write's refresh reads (`history.with_records`); filled
# in with this module's constants only.
_INPUTS_HEAD = (
    "SELECT 'organization' AS record_type, o.id AS organization_id,"
    " NULL::timestamptz AS created_at, NULL::uuid AS id,"
    " jsonb_build_object('uscc', o.uscc, 'status', o.status,"
    " 'stored', s.organization_id IS NOT NULL{flags}) AS row FROM organizations o"
    " LEFT JOIN credit_status s ON s.organization_id = o.id WHERE o.uscc = :uscc"
)


@functools.cache
def _inputs_and_records(facts: tuple[str, ...]) -> Compiled:
    """The statement of `_INPUTS_HEAD`, the organization's records and the
    registered `facts` (`providers.parts()`, known once the application starts)."""
    flags = "".join(f", '{f}', s.{f}" for f in FLAGS)
    return Compiled(history.with_records(_INPUTS_HEAD.format(flags=flags), facts))


async def _inputs(
    session: AsyncSession, statement: Compiled, params: dict[str, Any]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str], dict[uuid.UUID, dict[str, Any]]]:
    """The organizations one of the statements above selects, in one round trip."""
    usccs, statuses, previous = {}, {}, {}
    for r in await statement.fetch(session, params):
        usccs[r["id"]] = r["uscc"]
        statuses[r["id"]] = r["status"]
        if r["stored"] is not None:
            previous[r["id"]] = {f: r[f] for f in FLAGS}
    return usccs, statuses, previous


async def refresh(
    session: AsyncSession, organizations: Sequence[tuple[uuid.UUID, str]], on: dt.date | None = None
) -> list[CreditStatus]:
    """Recompute and store the status of these organizations as of `on` (today);
    emit `credit.changed` for each whose grade, A-level or list membership changed."""
    ids = [org_id for org_id, _ in organizations]
    if not ids:
        return []
    _, statuses, previous = await _inputs(session, _INPUTS_BY_ID, {"ids": ids})
    await _recompute(session, organizations, statuses, previous, on or today())
    stored = await session.scalars(
        select(CreditStatus)
        .where(CreditStatus.organization_id.in_(ids))
        .execution_options(populate_existing=True)
    )
    return list(stored)


def _upsert_statement() -> Select[Any]:
    """Store the statuses of many organizations and send each one's change
    notification (cached resolver answers show this status), in one round trip:
    the rows come as one JSON array (`:rows`), so the statement is built and
    compiled once whatever their number; `updated_at` is the database's clock at
    the upsert itself (recording times order the writes)."""
    table = CreditStatus.__table__
    given = [c for c in table.c if c.name != "updated_at"]
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=String), JSONB))
        .table_valued(*(column(c.name, c.type) for c in given))
        .render_derived(name="r", with_types=True)
    )
    statement = insert(CreditStatus).from_select(
        [c.name for c in given] + ["updated_at"],
        select(*(rows.c[c.name] for c in given), func.clock_timestamp()),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.organization_id],
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name != "organization_id"},
    )
    upserted = statement.returning(table.c.organization_id).cte("upserted")
    return select(organization_notify.changed_each(upserted.c.organization_id)).select_from(
        upserted
    )


_UPSERT = Compiled(_upsert_statement())


async def _recompute(
    session: AsyncSession,
    organizations: Sequence[tuple[uuid.UUID, str]],
    statuses: dict[uuid.UUID, str],
    previous: dict[uuid.UUID, dict[str, Any]],
    on: dt.date,
    histories: dict[uuid.UUID, policy.History] | None = None,
) -> None:
    """`refresh` without reading the stored statuses back (nor the `histories`,
    where the caller has read them)."""
    if histories is None:
        histories = await histories_of(session, statuses)
    await _store_publication_periods(session, histories)
    evaluated = []
    for i, (org_id, uscc) in enumerate(organizations):
        if i:  # each organization's evaluation between two turns (bulk: app/core/giveway.py)
            await giveway.turn()
        evaluated.append(evaluate(org_id, uscc, histories[org_id], on))
    # Policy v2 (SPEC §9): an S rule holding with no notice in its episode gets one
    # served now, in this transaction; those organizations are evaluated again.
    unnoticed = [
        (
            e.organization_id,
            e.uscc,
            policy.episode_start(histories[e.organization_id], on, versions.current()),
            [r for r in e.reasons if r["rule_id"] in S_RULES],
        )
        for e in evaluated
        if e.result.black_list_pending and e.result.notice_id is None
    ]
    served = set(await providers.unnoticed(session, unnoticed))
    if served:
        again = await histories_of(session, {i: statuses[i] for i in served})
        evaluated = [
            evaluate(e.organization_id, e.uscc, again[e.organization_id], on)
            if e.organization_id in served
            else e
            for e in evaluated
        ]
    rows = [_row(e, None) for e in evaluated]
    await _UPSERT.write(session, {"rows": orjson.dumps(rows, default=str).decode()})
    await _reload_loaded(session, [e.organization_id for e in evaluated])
    for row in rows:
        before = previous.get(row["organization_id"])
        after = {f: row[f] for f in FLAGS}
        if before != after:
            await journal.emit(
                session,
                "credit.changed",
                row["uscc"],
                after
                | {
                    "assessed_grade": row["assessed_grade"],
                    "policy_version": row["policy_version"],
                    "as_of": row["as_of"],
                    "previous": before,
                },
            )


async def _reload_loaded(session: AsyncSession, ids: Iterable[uuid.UUID]) -> None:
    """Statuses of these organizations this session already holds are read again
    after the upsert (none, on a plain write: no round trip)."""
    loaded = [i for i in ids if identity_key(CreditStatus, i) in session.identity_map]
    if loaded:
        await session.execute(
            select(CreditStatus)
            .where(CreditStatus.organization_id.in_(loaded))
            .execution_options(populate_existing=True)
        )


async def refresh_organization(session: AsyncSession, org: Organization) -> CreditStatus:
    """After a write that changes an organization's inputs, in the same transaction."""
    return (await refresh(session, [(org.id, org.uscc)]))[0]


# The writes whose entity shapes an organization's credit (SPEC §4); a complaint's
# substantiation counts in rule C1 (§4.1, §10).
CREDIT_ENTITIES = frozenset(
    {"organization", "grade_assessment", "violation", "inspection", "recall", "complaint"}
)


async def refresh_after_write(
    session: AsyncSession, entry: journal.Entry | None, _: journal.Event | None
) -> None:
    """The journal listener: a write to an organization's inputs refreshes its
    credit in the same transaction (registered at start-up, coalescing)."""
    if entry is None or entry.uscc is None or entry.entity not in CREDIT_ENTITIES:
        return
    statement = _inputs_and_records(providers.parts())
    records, others = history.split(await statement.fetch(session, {"uscc": entry.uscc}))
    heads = others.pop("organization", None)
    if not heads:
        return
    org_id, stored = heads[0]
    statuses = {org_id: stored["status"]}
    previous = {org_id: {f: stored[f] for f in FLAGS}} if stored["stored"] else {}
    histories = providers.add(history.assemble(statuses, records), others)
    await _recompute(session, [(org_id, stored["uscc"])], statuses, previous, today(), histories)


# Organizations refreshed together after a bulk write: their statements are
# shared, their evaluation (CPU) runs between two turns of the event loop.
REFRESH_GROUP = 4


async def refresh_after_writes(
    session: AsyncSession, written: Sequence[tuple[journal.Entry | None, journal.Event | None]]
) -> None:
    """`refresh_after_write` for many organizations' writes (the end of a
    `journal.deferred` block: a CSV import's chunk), in the order they were first
    written to: `REFRESH_GROUP` at a time, in a few statements per group, with a
    turn of the event loop between groups for the other requests."""
    wanted = list(
        dict.fromkeys(
            e.uscc for e, _ in written if e and e.uscc is not None and e.entity in CREDIT_ENTITIES
        )
    )
    for start in range(0, len(wanted), REFRESH_GROUP):
        if start:
            await giveway.turn()
        group = wanted[start : start + REFRESH_GROUP]
        usccs, statuses, previous = await _inputs(session, _INPUTS_BY_USCCS, {"usccs": group})
        ids = {uscc: org_id for org_id, uscc in usccs.items()}
        organizations = [(ids[u], u) for u in group if u in ids]
        await _recompute(session, organizations, statuses, previous, today())


def past_edge(holds_until: dt.date | None, on: dt.date) -> bool:
    """A stored status no longer holds on `on` (a window edge has passed since)."""
    return holds_until is not None and holds_until < on


def is_stale(status: CreditStatus | None, on: dt.date) -> bool:
    return status is None or past_edge(status.holds_until, on)


def public_is_stale(public_until: dt.date | None, on: dt.date) -> bool:
    """The stored public reasons no longer hold on `on` (a publication period ended)."""
    return public_until is not None and public_until < on


async def current(session: AsyncSession, org: Organization) -> CreditStatus:
    """The materialised status; recomputed and stored first if a window edge has passed."""
    status = await session.get(CreditStatus, org.id)
    if is_stale(status, today()):
        status = await refresh_organization(session, org)
    assert status is not None
    return status


async def current_for_read(
    session: Reader, org: Organization, *, store: AsyncSession | None
) -> CreditStatus:
    """The status for a read: stored and fresh, else recomputed — and stored in
    `store`, the primary's session when the read is on the primary (a replica
    cannot store; the primary's daily refresh will)."""
    status = await session.get(CreditStatus, org.id)
    if not is_stale(status, today()):
        assert status is not None
        return status
    if store is not None:
        return await current(store, org)
    on = today()
    hist = (await histories_of(session, {org.id: org.status}))[org.id]
    row = _row(evaluate(org.id, org.uscc, hist, on), await db_now(session))
    return CreditStatus(**row)  # transient: never added to the session


async def refresh_due(
    session: AsyncSession,
    on: dt.date | None = None,
    batch: int = 1000,
    advance: Advance | None = None,
) -> int:
    """Refresh every status whose `holds_until` has passed (and any missing one);
    `advance(n)` after each batch of n."""
    on = on or today()
    refreshed = 0
    while True:
        due = (
            await session.execute(
                select(Organization.id, Organization.uscc)
                .outerjoin(CreditStatus, CreditStatus.organization_id == Organization.id)
                .where(
                    (CreditStatus.organization_id.is_(None))
                    | (CreditStatus.holds_until < on)
                    | (CreditStatus.public_until < on)
                )
                .order_by(Organization.id)
                .limit(batch)
            )
        ).all()
        if not due:
            return refreshed
        await refresh(session, [(r.id, r.uscc) for r in due], on)
        refreshed += len(due)
        if advance is not None:
            advance(len(due))
