"""Publishing the red and black lists, and reading publications back.

A publication is made in one transaction; a per-kind advisory lock orders the
numbers of one kind and blocks nothing else. Its witness (SPEC §7) is the first
signed tree head covering every write committed before the entries were
computed (`app.journal.witness`); the publication's own `list.publish` entry
then records its number, hash and witness, so the log vouches for it as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app import journal
from app.auth import guards
from app.core import fastpath
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.errors import NotFound, invalid
from app.core.principal import SYSTEM, Principal
from app.core.progress import Advance
from app.credit import service as credit_service
from app.journal import heads, witness
from app.journal.models import TreeHead
from app.lists import canonical, past, repository
from app.lists.canonical import KIND_ZH
from app.lists.models import ListEntry, ListPublication
from app.organizations import codes
from app.policy import versions

READ_BATCH = 5000
LINES_SQL = (
    "SELECT ordinal, uscc, line FROM list_entries WHERE kind = $1 AND number = $2 ORDER BY ordinal"
)
# A million organizations publish in seconds; the bound only keeps a runaway
# statement from holding the per-kind lock forever.
PUBLISH_LOCK_ID = 0x51C4_0006
PUBLISH_STATEMENT_TIMEOUT = "10min"
PUBLISH_WORK_MEM = "64MB"


def check_as_of(as_of: dt.date | None) -> dt.date:
    """The list's valid date: today by default, never in the future."""
    now = today()
    if as_of is None:
        return now
    if as_of > now:
        raise invalid("as_of", f"is after today ({now.isoformat()}): the future is not known")
    if as_of.year < 1949:
        raise invalid("as_of", "dates before 1949 are not accepted")
    return as_of


async def publish_list(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    *,
    as_of: dt.date | None = None,
    note: str | None = None,
    approval: Any = None,
    advance: Advance | None = None,
) -> ListPublication | guards.Pending:
    """Compute list `kind` as of `as_of` (today) and store it as the next publication.
    The black list needs four eyes (SPEC §9): the proposal fixes `as_of` and the
    entries' hash, and an approval applies only to the same list. `advance(n)`
    reports progress: statuses refreshed, then entries written."""
    if kind not in canonical.KINDS:
        raise invalid("kind", "must be red or black")
    on = check_as_of(as_of)
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:k, :kind)"),
        {"k": PUBLISH_LOCK_ID, "kind": canonical.KINDS.index(kind)},
    )
    await session.execute(text(f"SET LOCAL statement_timeout = '{PUBLISH_STATEMENT_TIMEOUT}'"))
    await session.execute(text(f"SET LOCAL work_mem = '{PUBLISH_WORK_MEM}'"))  # sorts in memory
    number = int(await session.scalar(repository.next_number(kind)) or 1)
    if on == today():
        # Statuses whose window edge has passed are stale: recompute them first.
        await credit_service.refresh_due(session, on, advance=advance)
    if kind == "black":
        # The entries as they would be published, computed in a savepoint undone after.
        trial = await session.begin_nested()
        await _fill(session, kind, number, on)
        trial_sha256, trial_count = await digest(session, kind, number)
        await trial.rollback()
        payload = {
            "kind": kind,
            "as_of": on,
            "note": note,
            "entries_sha256": trial_sha256,
            "entry_count": trial_count,
        }
        proposal = guards.Proposal("black_list.publish", "list", kind, payload)
        pending = await guards.check(session, actor, proposal, approval)
        if pending is not None:
            return pending
    await _fill(session, kind, number, on, advance)
    head = await witness.covering_head(session)
    policy_version = versions.current().in_force(on).version
    publication = await seal(session, actor, kind, number, on, note, policy_version, head)
    summary = {
        "kind": kind,
        "number": number,
        "as_of": on,
        "entry_count": publication.entry_count,
        "sha256": publication.sha256,
        "audit_seq": head.tree_size,
        "audit_hash": head.root_hash,
        "note": note,
    }
    # Not about one organization: the event's uscc is empty.
    await journal.record(
        session,
        actor,
        action="list.publish",
        entity="list_publication",
        entity_id=f"{kind}/{number}",
        after=summary,
        event=("list.published", summary),
    )
    await emit_movements(session, publication)
    return publication


async def seal(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    number: int,
    as_of: dt.date,
    note: str | None,
    policy_version: str,
    head: TreeHead,
    **more: Any,
) -> ListPublication:
    """The publication row over the entries already filled in, witnessed by `head`."""
    sha256, count = await digest(session, kind, number)
    publication = ListPublication(
        kind=kind,
        number=number,
        as_of=as_of,
        published_at=await db_now(session),
        note=note,
        entry_count=count,
        sha256=sha256,
        audit_seq=head.tree_size,
        audit_hash=head.root_hash,
        audit_tree_head=heads.head_json(head),
        policy_version=policy_version,
        published_by=actor.key_id,
        **more,
    )
    session.add(publication)
    await session.flush()
    return publication


async def _fill(
    session: AsyncSession,
    kind: str,
    number: int,
    on: dt.date,
    advance: Advance | None = None,
) -> None:
    if on == today():
        written = await session.execute(
            repository.insert_current(kind), {"kind": kind, "number": number}
        )
        if advance is not None:
            advance(getattr(written, "rowcount", 0) or 0)
    else:
        await _insert_past(session, kind, number, on, advance)


async def emit_movements(session: AsyncSession, publication: ListPublication) -> None:
    """`list.entered` and `list.exited`, one per organization added to or removed
    from the list against the previous publication of its kind (SPEC §11)."""
    previous = await previous_number(session, publication)
    for part, type in (("added", "list.entered"), ("removed", "list.exited")):
        batch: list[tuple[str, str, dict[str, Any]]] = []
        async for _, line in diff_lines(session, publication, previous, part):
            uscc = _loads(line)["uscc"]
            data = {"uscc": uscc, "list": publication.kind, "publication": publication.number}
            batch.append((type, uscc, data))
            if len(batch) >= READ_BATCH:
                await journal.emit_many(session, batch)
                batch = []
        await journal.emit_many(session, batch)


async def _insert_past(
    session: AsyncSession,
    kind: str,
    number: int,
    on: dt.date,
    advance: Advance | None = None,
) -> None:
    ordinal = 0
    async for batch in past.entries(session, kind, on):
        rows = []
        for entry in batch:
            ordinal += 1
            rows.append(
                {
                    "kind": kind,
                    "number": number,
                    "ordinal": ordinal,
                    "uscc": entry["uscc"],
                    "name": entry["name"],
                    "line": canonical.canonical_line(entry),
                }
            )
        if rows:
            await session.execute(insert(ListEntry), rows)
            if advance is not None:
                advance(len(rows))


async def digest(session: AsyncSession, kind: str, number: int) -> tuple[str, int]:
    """The hash of the stored lines, streamed in ordinal order (bounded memory)."""
    digest = canonical.LineDigest()
    async for _, _, line in iter_lines(session, kind, number):
        digest.update(line)
    return digest.hexdigest(), digest.count


async def iter_lines(
    session: Reader, kind: str, number: int, prefetch: int = READ_BATCH
) -> AsyncIterator[tuple[int, str, str]]:
    """Every `(ordinal, uscc, line)` of a publication, in order, through a server-side
    cursor on the driver connection (bounded memory; ~3x faster than ORM rows)."""
    driver = await fastpath.driver(session)
    if driver.is_in_transaction():
        async for row in driver.cursor(LINES_SQL, kind, number, prefetch=prefetch):
            yield row[0], row[1], row[2]
        return
    # A download streamed after the request's transaction ended: a cursor needs
    # one of its own (read-only; a publication never changes anyway).
    async with driver.transaction(readonly=True):
        async for row in driver.cursor(LINES_SQL, kind, number, prefetch=prefetch):
            yield row[0], row[1], row[2]


async def find(session: Reader, kind: str, number: int) -> ListPublication:
    publication = await session.get(ListPublication, (kind, number))
    if publication is None:
        raise NotFound(f"no {kind} list publication {number}")
    return publication


async def latest(session: Reader, kind: str) -> ListPublication:
    publication = await session.scalar(
        select(ListPublication)
        .where(ListPublication.kind == kind)
        .order_by(ListPublication.number.desc())
        .limit(1)
    )
    if publication is None:
        raise NotFound(f"the {kind} list has not been published yet")
    return publication


async def latest_or_none(session: Reader, kind: str) -> ListPublication | None:
    try:
        return await latest(session, kind)
    except NotFound:
        return None


async def publications(
    session: Reader, kind: str, *, before: int | None, limit: int
) -> list[ListPublication]:
    """Publications of a kind, newest first, numbered below `before`."""
    statement = (
        select(ListPublication)
        .where(ListPublication.kind == kind)
        .order_by(ListPublication.number.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(ListPublication.number < before)
    return list((await session.scalars(statement)).all())


async def entry_page(
    session: Reader, publication: ListPublication, *, after: int, limit: int
) -> tuple[list[tuple[int, str]], int | None]:
    """One page of `(ordinal, line)` after ordinal `after`, and the ordinal to continue from."""
    rows = (
        await session.execute(
            repository.lines_after(publication.kind, publication.number, after, limit + 1)
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [(r.ordinal, r.line) for r in rows], (rows[-1].ordinal if more else None)


async def search_page(
    session: Reader,
    publication: ListPublication,
    *,
    q: str | None,
    after: int | None,
    before: int | None,
    limit: int,
    hidden: Select[Any] | None = None,
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """A page of entries (ordinal, entry) for the public pages: optionally those
    whose name contains `q` or whose code starts with it; forwards after an
    ordinal or backwards before one. Also whether more lie in that direction.
    `hidden` selects ordinals to leave out (app/lists/redaction.py)."""
    e = ListEntry
    statement = select(e.ordinal, e.line).where(
        e.kind == publication.kind, e.number == publication.number
    )
    if hidden is not None:
        statement = statement.where(e.ordinal.not_in(hidden.scalar_subquery()))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # Code-like input (full-width, spaces and hyphens allowed) also matches
        # the start of the USCC or of the embedded organization code.
        normalised = codes.normalise(q)
        code = normalised if normalised.isascii() and normalised.isalnum() else ""
        matches: ColumnElement[bool] = e.name.ilike(f"%{escaped}%", escape="\\")
        if code:
            matches = (
                matches
                | e.uscc.startswith(code, autoescape=True)
                | func.substr(e.uscc, 9, 9).startswith(code, autoescape=True)
            )
        statement = statement.where(matches)
    if before is not None:
        statement = statement.where(e.ordinal < before).order_by(e.ordinal.desc())
    else:
        statement = statement.where(e.ordinal > (after or 0)).order_by(e.ordinal)
    rows = (await session.execute(statement.limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows = rows[::-1]
    return [(r.ordinal, _loads(r.line)) for r in rows], more


def _loads(line: str) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(line)
    return value


async def previous_number(session: Reader, publication: ListPublication) -> int | None:
    found = await session.scalar(
        select(func.max(ListPublication.number)).where(
            ListPublication.kind == publication.kind,
            ListPublication.number < publication.number,
        )
    )
    return int(found) if found is not None else None


async def diff_lines(
    session: Reader,
    publication: ListPublication,
    previous: int | None,
    part: str,
    batch: int = READ_BATCH,
) -> AsyncIterator[tuple[Any, ...]]:
    """One part of the diff against the previous publication, in uscc order, a batch
    per query: `(ordinal, line)` for `added` and `removed` (the ordinal in the
    publication that has the line), `(ordinal, previous ordinal, uscc, before,
    after)` for `changed`."""
    if previous is None and part != "added":
        return
    after = 0
    while True:
        statement = repository.diff_part(
            part, publication.kind, publication.number, previous, after, batch
        )
        rows = (await session.execute(statement)).all()
        for row in rows:
            yield tuple(row)
        if len(rows) < batch:
            return
        after = rows[-1][0]


async def publish_demo_lists(session: AsyncSession) -> str:
    """Publish both lists now (for `qcr demo-data`); a one-line summary."""
    made = []
    for kind in canonical.KINDS:
        publication = await publish_list(session, SYSTEM, kind, note="演示数据")
        assert isinstance(publication, ListPublication), "demo data: four eyes is suspended"
        made.append(publication)
    return "; ".join(f"{KIND_ZH[p.kind]} 第 {p.number} 期 {p.entry_count} 家" for p in made)
