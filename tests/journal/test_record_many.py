"""`journal.record_many` (a CSV import's chunk) stores, for each write, the entry
and event `journal.record` stores, and runs the listeners for each, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import db_now
from app.core.principal import SYSTEM
from app.journal.models import AuditEntry, ChangeEvent

_ENTRY = ("at", "actor_key_id", "actor_role", "action", "entity", "entity_id", "uscc", "leaf")


async def _entry(session: AsyncSession, entry_id: int) -> dict[str, Any]:
    row = await session.get(AuditEntry, entry_id)
    assert row is not None
    kinds = (
        await session.execute(
            text(
                "SELECT coalesce(jsonb_typeof(before), 'SQL NULL'), "
                "coalesce(jsonb_typeof(after), 'SQL NULL') FROM audit_entries WHERE id = :i"
            ),
            {"i": entry_id},
        )
    ).one()
    return {k: getattr(row, k) for k in _ENTRY} | {
        "before": row.before,
        "after": row.after,
        "kinds": tuple(kinds),
    }


async def _events(session: AsyncSession, entity_id: str) -> list[tuple[Any, ...]]:
    rows = await session.scalars(
        select(ChangeEvent).where(ChangeEvent.data["id"].astext == entity_id).order_by("id")
    )
    return [(e.type, e.uscc, e.at, e.data) for e in rows]


@pytest.fixture
async def seen() -> AsyncIterator[list[tuple[journal.Entry | None, journal.Event | None]]]:
    calls: list[tuple[journal.Entry | None, journal.Event | None]] = []

    async def listener(_: AsyncSession, entry: journal.Entry | None, event: Any) -> None:
        calls.append((entry, event))

    journal.listen(listener)
    yield calls
    journal.unlisten(listener)


async def test_record_many_stores_what_record_stores(
    session: AsyncSession, seen: list[tuple[journal.Entry | None, journal.Event | None]]
) -> None:
    at = await db_now(session)
    writes = [
        journal.Write(
            action="thing.create",
            entity="thing",
            entity_id=f"t{n}",
            uscc="911101050000000001",
            after={"id": f"t{n}", "amount": "1.50", "n": n},
            event=("thing.recorded", {"id": f"t{n}", "n": n}),
            at=at,
        )
        for n in range(3)
    ] + [journal.Write(action="thing.note", entity="thing", entity_id="t9", before={"a": 1})]
    one_by_one = []
    for w in writes:
        entry = await journal.record(
            session,
            SYSTEM,
            action=w.action,
            entity=w.entity,
            entity_id=w.entity_id,
            uscc=w.uscc,
            before=w.before,
            after=w.after,
            event=w.event,
            at=w.at,
        )
        one_by_one.append((await _entry(session, entry.id), await _events(session, w.entity_id)))
    singles = list(seen)
    seen.clear()

    entries = await journal.record_many(session, SYSTEM, writes)
    assert [e.entity_id for e in entries] == ["t0", "t1", "t2", "t9"]
    assert entries == sorted(entries, key=lambda e: e.id)  # ids in the writes' order
    for entry, (single, single_events) in zip(entries, one_by_one, strict=True):
        stored = await _entry(session, entry.id)
        if entry.entity_id == "t9":  # no `at`: the database's clock, read for the batch
            assert stored.pop("at") > single.pop("at")
            stored.pop("leaf"), single.pop("leaf")
        assert stored == single
        events = await _events(session, entry.entity_id)
        assert events == single_events * 2  # the same event again
    # The listeners saw each write once, in order, as `record` has them see it.
    assert [(e.entity_id if e else None, ev.type if ev else None) for e, ev in seen] == [
        (e.entity_id if e else None, ev.type if ev else None) for e, ev in singles
    ]
    assert [e for e, _ in seen] == entries
    assert all(ev is None or ev.data["id"] == e.entity_id for e, ev in seen if e)


async def test_record_many_of_nothing_writes_nothing(session: AsyncSession) -> None:
    assert await journal.record_many(session, SYSTEM, []) == []


async def test_a_deferred_block_calls_a_coalescing_listener_once_for_many(
    session: AsyncSession,
) -> None:
    calls: list[list[str | None]] = []

    async def one(_: AsyncSession, entry: journal.Entry | None, __: Any) -> None:
        raise AssertionError("the form for many is called instead")

    async def many(_: AsyncSession, written: Any) -> None:
        calls.append([e.entity_id if e else None for e, _ in written])

    journal.listen(one, coalesce=True, many=many)
    try:
        async with journal.deferred(session):
            writes = [
                journal.Write(action="thing.create", entity="thing", entity_id=f"t{n}", uscc=u)
                for n, u in enumerate(["A", "B", "A", "C", "B"])
            ]
            await journal.record_many(session, SYSTEM, writes)
            assert calls == []  # not before the block ends
    finally:
        journal.unlisten(one)
    # Once, with each organization's last write, in the order they were first written.
    assert calls == [["t2", "t4", "t3"]]
