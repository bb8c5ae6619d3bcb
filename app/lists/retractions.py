"""Retraction of a wrong listing (错误列入, SPEC §9): the next-numbered publication of
the kind repeats the corrected one without the retracted entries, names it
(`corrects`) and them (`retracted`), and emits `list.exited` for each. The original
publication is never touched: it stays byte-identical and verifiable. Four eyes:
`list.retract`."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.auth import guards
from app.core.errors import invalid
from app.core.principal import Principal
from app.journal import witness
from app.lists import repository, service
from app.lists.models import ListEntry, ListPublication

MAX_RETRACTED = 1000


async def retract(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    number: int,
    usccs: list[str],
    reason: str,
    *,
    approval: Any = None,
) -> ListPublication | guards.Pending:
    """Publish the correction of publication `number` without the entries of `usccs`."""
    original = await service.find(session, kind, number)
    wanted = sorted(set(usccs))
    if not wanted or len(wanted) > MAX_RETRACTED:
        raise invalid("uscc", f"name 1 to {MAX_RETRACTED} entries of the publication")
    kept: list[tuple[str, str, str]] = []
    retracted: list[dict[str, Any]] = []
    async for _, uscc, line in service.iter_lines(session, kind, number):
        entry = orjson.loads(line)
        if uscc in wanted:
            retracted.append(entry)
        else:
            kept.append((uscc, entry.get("name", ""), line))
    missing = sorted(set(wanted) - {e["uscc"] for e in retracted})
    if missing:
        raise invalid("uscc", f"{missing[0]} is not an entry of {kind} publication {number}")
    payload = {"kind": kind, "number": number, "uscc": wanted, "reason": reason}
    proposal = guards.Proposal(
        "list.retract", "list_publication", f"{kind}/{number}", payload, original.published_by
    )
    pending = await guards.check(session, actor, proposal, approval)
    if pending is not None:
        return pending
    new_number = int(await session.scalar(repository.next_number(kind)) or 1)
    head = await witness.covering_head(session)
    if kept:
        await session.execute(
            insert(ListEntry),
            [
                {
                    "kind": kind,
                    "number": new_number,
                    "ordinal": i,
                    "uscc": u,
                    "name": n,
                    "line": line,
                }
                for i, (u, n, line) in enumerate(kept, start=1)
            ],
        )
    correction = await service.seal(
        session,
        actor,
        kind,
        new_number,
        original.as_of,
        f"更正第 {number} 期（错误列入）",
        original.policy_version,
        head,
        corrects=number,
        retracted=retracted,
        retraction_reason=reason,
    )
    summary = {
        "kind": kind,
        "number": new_number,
        "corrects": number,
        "retracted": wanted,
        "reason": reason,
        "entry_count": correction.entry_count,
        "sha256": correction.sha256,
    }
    await journal.record(
        session,
        actor,
        action="list.retract",
        entity="list_publication",
        entity_id=f"{kind}/{new_number}",
        after=summary,
    )
    await journal.emit(session, "list.published", "", summary)
    for uscc in wanted:
        await journal.emit(
            session, "list.exited", uscc, {"uscc": uscc, "list": kind, "publication": new_number}
        )
    return correction
