"""Where the credit engine gets what is not a record of the organization itself:
substantiated complaints (C1) and notices and objections (SPEC §4.1, §9).

The packages that keep them sit above credit in the layering and register their
`Facts` at start-up (the application factory and the CLI); credit never imports
them. Without a registration there is nothing of that kind (the default). A listener
registered the same way is told, in the writing transaction, about organizations
on which an S rule holds with no notice served in the episode (policy v2), so
that it can serve one.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Reader
from app.core.fastpath import Compiled
from app.credit import history
from app.policy.policy import History

# A fact's row as JSON (its part's `row` column), by the organization it concerns.
FactRows = Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
# (rows by `record_type`, known_at or None) -> History fields per organization
FactReader = Callable[
    [Mapping[str, FactRows], dt.datetime | None],
    Mapping[uuid.UUID, Mapping[str, tuple[Any, ...]]],
]


@dataclass(frozen=True)
class Facts:
    """What one package tells the credit engine: `part`, a SELECT of rows in the
    shape of credit's history rows (`history.with_records`: a `record_type`
    naming the fact, `organization_id`, `created_at`, `id` and the fact as JSON
    `row`) for the organizations whose id is `{where}` (a template filled in by
    credit with a condition such as `= ANY(:ids)`, so that they join the
    records' own statement: no round trip of their own on the write path);
    `read`, the History fields those rows make, as of `known_at` when given."""

    part: str
    read: FactReader


# An organization on which an S rule holds with no notice in its episode:
# (organization id, uscc, the first day of the episode, the S reasons as stored).
Unnoticed = tuple[uuid.UUID, str, dt.date, list[dict[str, Any]]]
# (session, those organizations) -> the organizations it served a notice to
UnnoticedListener = Callable[[AsyncSession, Sequence[Unnoticed]], Awaitable[Sequence[uuid.UUID]]]

_facts: dict[str, Facts] = {}
_unnoticed: UnnoticedListener | None = None


def register_facts(name: str, facts: Facts | None) -> None:
    """`name`'s facts from now on (None: none)."""
    if facts is None:
        _facts.pop(name, None)
    else:
        _facts[name] = facts


def register_unnoticed(listener: UnnoticedListener | None) -> None:
    global _unnoticed
    _unnoticed = listener


def parts() -> tuple[str, ...]:
    """The registered facts' SELECTs (templates on `{where}`)."""
    return tuple(f.part for f in _facts.values())


@functools.cache
def _statement(templates: tuple[str, ...]) -> Compiled:
    """The registered facts of the organizations `:ids`, in one statement."""
    return Compiled(history.union(templates))


def add(
    histories: dict[uuid.UUID, History],
    rows: Mapping[str, FactRows],
    known_at: dt.datetime | None = None,
) -> dict[uuid.UUID, History]:
    """The histories with the facts read from `rows` (by `record_type`)."""
    fields: dict[uuid.UUID, dict[str, tuple[Any, ...]]] = {}
    for facts in _facts.values():
        for org_id, found in facts.read(rows, known_at).items():
            fields.setdefault(org_id, {}).update(found)
    return {
        org_id: replace(hist, **fields[org_id]) if org_id in fields else hist  # type: ignore[arg-type]
        for org_id, hist in histories.items()
    }


async def with_facts(
    session: Reader,
    histories: dict[uuid.UUID, History],
    known_at: dt.datetime | None = None,
) -> dict[uuid.UUID, History]:
    """The histories with the registered facts added (one round trip)."""
    templates = parts()
    if not histories or not templates:
        return histories
    found = await _statement(templates).fetch(session, {"ids": list(histories)})
    _, rows = history.split(found)
    return add(histories, rows, known_at)


async def unnoticed(
    session: AsyncSession, organizations: Sequence[Unnoticed]
) -> Sequence[uuid.UUID]:
    if _unnoticed is None or not organizations:
        return []
    return await _unnoticed(session, organizations)
