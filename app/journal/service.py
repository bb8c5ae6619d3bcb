"""`record`, `emit`, listeners: what every write calls (see the package docstring)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import db_now
from app.core.fastpath import Compiled
from app.journal import leaf
from app.journal.models import AuditEntry, ChangeEvent


class Actor(Protocol):
    """Who wrote: an API key's principal (app.core.principal.Principal fits)."""

    @property
    def key_id(self) -> Any: ...

    @property
    def role(self) -> Any: ...


@dataclass(frozen=True)
class Entry:
    """An audit entry as written (its `seq` comes later, from the sequencer)."""

    id: int
    action: str
    entity: str
    entity_id: str
    uscc: str | None
    before: Any
    after: Any


@dataclass(frozen=True)
class Event:
    """A change-feed event as written (its feed `seq` comes from the sequencer)."""

    id: int
    type: str
    uscc: str
    data: dict[str, Any]


class Identified(Protocol):
    """A row with an `id` (its audit entry's `entity_id`)."""

    @property
    def id(self) -> Any: ...


Row = TypeVar("Row", bound=Identified)

Listener = Callable[[AsyncSession, Entry | None, Event | None], Awaitable[None]]
Written = tuple[Entry | None, Event | None]
ManyListener = Callable[[AsyncSession, Sequence[Written]], Awaitable[None]]


@dataclass
class _Registered:
    fn: Listener
    coalesce: bool
    many: ManyListener | None = None


_listeners: list[_Registered] = []


def listen(fn: Listener, *, coalesce: bool = False, many: ManyListener | None = None) -> None:
    """Run `fn` after every write (idempotent: registering twice keeps one).
    `many`: a coalescing listener's form for many organizations at once, which
    the end of a `deferred` block calls with each one's last write."""
    if not any(r.fn is fn for r in _listeners):
        _listeners.append(_Registered(fn, coalesce, many))


def unlisten(fn: Listener) -> None:
    _listeners[:] = [r for r in _listeners if r.fn is not fn]


@dataclass
class _Deferred:
    by_uscc: dict[str, Written] = field(default_factory=dict)


_DEFERRED = "journal.deferred"


@asynccontextmanager
async def deferred(session: AsyncSession) -> AsyncIterator[None]:
    """Coalescing listeners run once per organization when the block ends."""
    if _DEFERRED in session.info:  # nested: the outer block runs them
        yield
        return
    state = _Deferred()
    session.info[_DEFERRED] = state
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    written = list(state.by_uscc.values())
    for registered in [r for r in _listeners if r.coalesce]:
        if registered.many is not None:
            await registered.many(session, written)
            continue
        for entry, event in written:
            await registered.fn(session, entry, event)


async def _run_listeners(session: AsyncSession, entry: Entry | None, event: Event | None) -> None:
    state: _Deferred | None = session.info.get(_DEFERRED)
    uscc = (entry.uscc if entry else None) or (event.uscc if event else None)
    for registered in list(_listeners):
        if registered.coalesce and state is not None and uscc:
            state.by_uscc[uscc] = (entry, event)
            continue
        await registered.fn(session, entry, event)


# The statements of `record` and `emit`, built once with bind parameters (building
# a statement per write cost more CPU than its round trip): the entry; the entry
# and its event in one round trip (two data-modifying CTEs, the event at the
# entry's time); an event alone, at the database's clock at its insert.
_ENTRY_COLUMNS = ("at", "actor_key_id", "actor_role", "action", "entity", "entity_id")
_ENTRY = (
    insert(AuditEntry)
    .values({c: bindparam(c) for c in (*_ENTRY_COLUMNS, "uscc", "before", "after", "leaf")})
    .returning(AuditEntry.id)
)


def _event_insert(at: Any) -> Any:
    return (
        insert(ChangeEvent)
        .values(type=bindparam("type"), uscc=bindparam("event_uscc"), at=at, data=bindparam("data"))
        .returning(ChangeEvent.id)
    )


def _entry_and_event() -> Any:
    entries = _ENTRY.cte("entry")
    events = _event_insert(bindparam("at")).cte("event")
    return select(select(entries.c.id).scalar_subquery(), select(events.c.id).scalar_subquery())


_ENTRY_AND_EVENT = Compiled(_entry_and_event())
_ENTRY_ONLY = Compiled(_ENTRY)
_EVENT = _event_insert(func.clock_timestamp())


@dataclass(frozen=True)
class Write:
    """One write for `record_many`: what `record` takes as keywords."""

    action: str
    entity: str
    entity_id: str
    uscc: str | None = None
    before: Any = None
    after: Any = None
    event: tuple[str, dict[str, Any]] | None = None
    at: dt.datetime | None = None


def _entry_params(actor: Actor, write: Write, at: dt.datetime) -> dict[str, Any]:
    """The audit entry's row (its canonical leaf bytes included) for `_ENTRY`."""
    role = actor.role.value if hasattr(actor.role, "value") else str(actor.role)
    who_what: dict[str, Any] = {
        "at": at,
        "actor_key_id": actor.key_id,
        "actor_role": role,
        "action": write.action,
        "entity": write.entity,
        "entity_id": write.entity_id,
    }
    obj = leaf.leaf_object(**who_what, before=write.before, after=write.after)
    return who_what | {
        "uscc": write.uscc,
        "before": obj["before"],
        "after": obj["after"],
        "leaf": leaf.canonical(obj),
    }


def _entry(entry_id: int | None, write: Write, params: dict[str, Any]) -> Entry:
    assert entry_id is not None
    return Entry(
        entry_id,
        write.action,
        write.entity,
        write.entity_id,
        write.uscc,
        params["before"],
        params["after"],
    )


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: str,
    uscc: str | None = None,
    before: Any = None,
    after: Any = None,
    event: tuple[str, dict[str, Any]] | None = None,
    at: dt.datetime | None = None,
) -> Entry:
    """Insert the audit entry (and the change event) in the caller's transaction,
    without any lock, in one statement, then run the after-write listeners.
    `at`: the write's own time read from the database's clock (`db_now`) by the
    caller, if it has one; else it is read here."""
    write = Write(action, entity, entity_id, uscc, before, after, event, at)
    params = _entry_params(actor, write, at or await db_now(session))
    written: Event | None = None
    if event is None:
        entry_id = (await _ENTRY_ONLY.write(session, params))[0][0]
    else:
        data = leaf.jsonable(event[1])
        params |= {"type": event[0], "event_uscc": uscc or "", "data": data}
        row = (await _ENTRY_AND_EVENT.write(session, params))[0]
        entry_id = row[0]
        written = Event(row[1], event[0], uscc or "", data)
    entry = _entry(entry_id, write, params)
    await _run_listeners(session, entry, written)
    return entry


async def record_many(session: AsyncSession, actor: Actor, writes: Sequence[Write]) -> list[Entry]:
    """`record` for many writes (a CSV import's chunk): the same entry, and event,
    per write as `record` stores, inserted in two statements (the entries, then
    the events, each in the writes' order); then the listeners run for each
    write, in order. A write without `at` gets the database's clock, read once."""
    now = await db_now(session) if any(w.at is None for w in writes) else None
    params = []
    for write in writes:
        at = write.at or now
        assert at is not None
        params.append(_entry_params(actor, write, at))
    entry_ids = await _insert(session, AuditEntry, params)
    rows = [
        {"type": w.event[0], "uscc": w.uscc or "", "at": p["at"], "data": leaf.jsonable(w.event[1])}
        for w, p in zip(writes, params, strict=True)
        if w.event is not None
    ]
    events = iter(
        Event(i, r["type"], r["uscc"], r["data"])
        for i, r in zip(await _insert(session, ChangeEvent, rows), rows, strict=True)
    )
    entries = []
    for write, entry_id, p in zip(writes, entry_ids, params, strict=True):
        entries.append(_entry(entry_id, write, p))
        await _run_listeners(session, entries[-1], next(events) if write.event else None)
    return entries


async def _insert(
    session: AsyncSession, model: type[AuditEntry] | type[ChangeEvent], rows: list[dict[str, Any]]
) -> Sequence[int]:
    """Insert the rows (in statements of up to 1,000); their ids, in their order."""
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return (await session.scalars(statement, rows)).all()


_Change = tuple[str, dict[str, Any]]  # a change-feed event: its type and data


@dataclass(frozen=True)
class Audited(Generic[Row]):
    """What a domain's rows are called in the audit log (`entity`), the view of a
    row its entries keep (`view`), and the organization a row concerns (`uscc`)."""

    entity: str
    view: Callable[[Row], dict[str, Any]]
    uscc: Callable[[Row], str | None] | None = None

    async def save(
        self,
        session: AsyncSession,
        actor: Actor,
        row: Row,
        action: str,
        *,
        before: Any = None,
        also: dict[str, Any] | None = None,
        uscc: str | None = None,
        event: _Change | Callable[[Row], _Change] | None = None,
    ) -> Row:
        """The tail of a write of one row: add it (a no-op for a row the session
        holds), flush (so a new row has its id), then `record` it: `entity_id`
        its id, `after` its view and `also` (what this one act adds), `event` as
        given or made from the row (a new row's id exists only after the flush);
        `uscc` overrides the entity's own."""
        session.add(row)
        await session.flush()
        after = self.view(row) | (also or {})
        await record(
            session,
            actor,
            action=action,
            entity=self.entity,
            entity_id=str(row.id),
            uscc=uscc if uscc is not None or self.uscc is None else self.uscc(row),
            before=before,
            after=after,
            event=event(row) if callable(event) else event,
        )
        return row


async def emit(session: AsyncSession, type: str, uscc: str, data: dict[str, Any]) -> Event:
    """Append a change event that has no audit entry of its own; listeners run.
    Its time is the database's clock at the insert (no round trip of its own)."""
    data = leaf.jsonable(data)
    event_id = await session.scalar(_EVENT, {"type": type, "event_uscc": uscc, "data": data})
    assert event_id is not None
    written = Event(event_id, type, uscc, data)
    await _run_listeners(session, None, written)
    return written


async def emit_many(
    session: AsyncSession, events: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[Event]:
    """`emit` for many `(type, uscc, data)` events in one statement (a publication's
    thousands of list entries and exits); listeners run for each, in order."""
    if not events:
        return []
    at = await db_now(session)
    rows = [
        {"type": type, "uscc": uscc, "at": at, "data": leaf.jsonable(data)}
        for type, uscc, data in events
    ]
    ids = await _insert(session, ChangeEvent, rows)
    written = [Event(i, r["type"], r["uscc"], r["data"]) for i, r in zip(ids, rows, strict=True)]
    for event in written:
        await _run_listeners(session, None, event)
    return written
