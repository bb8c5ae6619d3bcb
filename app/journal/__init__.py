"""The journal: the one way a write records what it did (SPEC §7, §5; STYLE 18).

Every write calls, in its own transaction and after its own rows are flushed::

    from app import journal

    await journal.record(
        session, actor,
        action="violation.create", entity="violation", entity_id=str(v.id),
        uscc=org.uscc,                       # the organization concerned, if any
        before=None, after=snapshot(v),      # JSON-safe; private fields as digests
        event=("violation.recorded", data),  # a change-feed event, or None
    )

A write of one row says it in one line. A domain names its rows once,
`MEASURE = journal.Audited("measure", view=snapshot)`, and a write ends with
`await MEASURE.save(session, actor, measure, "measure.update", before=before)`:
the row is added and flushed, then recorded (`entity_id` its id, `after` its
view; an `event` is a function of the row, as a new row's id exists only after
the flush).

`record` inserts the audit entry (its canonical leaf bytes included) and the
change event, takes **no lock** (the entries are given their `seq` later, in
commit order, by the sequencer: `app.journal.sequencer`), and then runs every
after-write listener. `journal.emit(session, type, uscc, data)` appends an
event that has no audit entry of its own (`credit.changed`), and runs the
listeners too; `journal.emit_many(session, [(type, uscc, data), ...])` appends
many in one statement (a publication's list movements);
`journal.record_many(session, actor, [journal.Write(action=..., ...), ...])`
records many writes at once (a CSV import's chunk): the same entry and event
per write as `record` makes, inserted in bulk, the listeners run for each.

Listeners are registered once at start-up by the edge (`app/wiring.py`), never
by the writer, so a writer never imports what reacts to it::

    async def refresh_credit(session, entry, event) -> None: ...
    journal.listen(refresh_credit, coalesce=True)

A listener runs in the writer's transaction (it may write; an exception fails
the write). `entry` is the `Entry` just written (None for `emit`), `event` the
`Event` (None when the write had none). A `coalesce=True` listener (keyed by
the entry's `uscc`) runs once per organization at the end of a
`async with journal.deferred(session):` block instead of once per write — what
a bulk import wants from a credit refresh; registered with
`many=refresh_credits` (`(session, [(entry, event), ...])`), the block's end
calls that once instead, with each organization's last write. Other listeners
(a webhook outbox, notices) still run per write inside the block.

Private fields (a legal representative, an internal description, a contact)
enter an entry only as `journal.private_digest(salt, value)`, the salt kept
beside the value in the record's own table.

Tests: `journal.sequencer.sequence_pending(session)` sequences, in the caller's
transaction, everything it can see (its own uncommitted writes included).
"""

from app.journal.leaf import private_digest
from app.journal.service import (
    Audited,
    Entry,
    Event,
    Write,
    deferred,
    emit,
    emit_many,
    listen,
    record,
    record_many,
    unlisten,
)

__all__ = [
    "Audited",
    "Entry",
    "Event",
    "Write",
    "deferred",
    "emit",
    "emit_many",
    "listen",
    "private_digest",
    "record",
    "record_many",
    "unlisten",
]
