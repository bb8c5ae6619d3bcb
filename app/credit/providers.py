"""Where the credit engine gets what is not a record of the organization itself:
substantiated complaints (C1) and notices and objections (SPEC §4.1, §9).

The packages that keep them sit above credit in the layering and register a
provider at start-up (the application factory and the CLI); credit never imports
them. Without a provider there is nothing of that kind (the default). A listener
registered the same way is told, in the writing transaction, about organizations
on which an S rule holds with no notice served in the episode (policy v2), so
that it can serve one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Reader
from app.policy.facts import ComplaintFact, NoticeFact, ObjectionFact
from app.policy.policy import History

# (session, organization ids, known_at or None) -> facts per organization
ComplaintProvider = Callable[
    [Reader, Sequence[uuid.UUID], dt.datetime | None],
    Awaitable[Mapping[uuid.UUID, Sequence[ComplaintFact]]],
]
DueProcessProvider = Callable[
    [Reader, Sequence[uuid.UUID], dt.datetime | None],
    Awaitable[Mapping[uuid.UUID, tuple[Sequence[NoticeFact], Sequence[ObjectionFact]]]],
]
# An organization on which an S rule holds with no notice in its episode:
# (organization id, uscc, the first day of the episode, the S reasons as stored).
Unnoticed = tuple[uuid.UUID, str, dt.date, list[dict[str, Any]]]
# (session, those organizations) -> the organizations it served a notice to
UnnoticedListener = Callable[[AsyncSession, Sequence[Unnoticed]], Awaitable[Sequence[uuid.UUID]]]

_complaints: ComplaintProvider | None = None
_due_process: DueProcessProvider | None = None
_unnoticed: UnnoticedListener | None = None


def register_complaints(provider: ComplaintProvider | None) -> None:
    global _complaints
    _complaints = provider


def register_due_process(
    provider: DueProcessProvider | None, unnoticed: UnnoticedListener | None
) -> None:
    global _due_process, _unnoticed
    _due_process, _unnoticed = provider, unnoticed


async def with_facts(
    session: Reader,
    histories: dict[uuid.UUID, History],
    known_at: dt.datetime | None = None,
) -> dict[uuid.UUID, History]:
    """The histories with the registered providers' facts added."""
    ids = list(histories)
    if not ids or (_complaints is None and _due_process is None):
        return histories
    complaints = await _complaints(session, ids, known_at) if _complaints else {}
    due = await _due_process(session, ids, known_at) if _due_process else {}
    out = {}
    for org_id, hist in histories.items():
        notices, objections = due.get(org_id, ((), ()))
        out[org_id] = replace(
            hist,
            complaints=tuple(complaints.get(org_id, ())),
            notices=tuple(notices),
            objections=tuple(objections),
        )
    return out


async def unnoticed(
    session: AsyncSession, organizations: Sequence[Unnoticed]
) -> Sequence[uuid.UUID]:
    if _unnoticed is None or not organizations:
        return []
    return await _unnoticed(session, organizations)
