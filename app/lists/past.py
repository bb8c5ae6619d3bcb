"""Lists as of a past date, evaluated from the records' history (SPEC §4: the
records' own dates decide, using everything the registry knows now).

Candidates are read in uscc order in batches, their histories loaded and
evaluated with the credit policy, and the listed ones returned as entries: memory
stays bounded whatever the number of organizations.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.credit import history
from app.credit import service as credit_service
from app.lists import repository
from app.policy import policy

BATCH = 1000


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def red_entry(row: Any, evaluated: credit_service.Evaluated) -> dict[str, Any] | None:
    if not evaluated.result.red_list:
        return None
    return {
        "uscc": row.uscc,
        "name": row.name,
        "grade": evaluated.result.grade,
        "region_code": row.region_code,
    }


def black_entry(
    row: Any, evaluated: credit_service.Evaluated, hist: policy.History
) -> dict[str, Any] | None:
    result = evaluated.result
    if not result.black_list:
        return None
    behind = {
        r.record_id
        for r in result.reasons
        if r.rule_id in policy.BLACK_LIST_RULES and r.record_type == "violation"
    }
    violations = sorted(
        (v for v in hist.violations if v.id in behind),
        key=lambda v: (v.decided_on, v.authority, v.case_no),
    )
    return {
        "uscc": row.uscc,
        "name": row.name,
        "reasons": [
            {
                "case_no": v.case_no,
                "authority": v.authority,
                "decided_on": v.decided_on.isoformat(),
                "public_summary": v.public_summary,
            }
            for v in violations
        ],
        "listed_since": _iso(evaluated.listed_since),
        "expected_exit": _iso(result.expected_exit),
    }


async def entries(
    session: AsyncSession, kind: str, on: dt.date, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The entries of list `kind` on `on`, in uscc order, a batch at a time."""
    after = ""
    while True:
        rows = (await session.execute(repository.candidates(kind, on, after, batch))).all()
        if not rows:
            return
        statuses: dict[uuid.UUID, str] = {r.id: r.status for r in rows}
        histories = await history.current(session, statuses)
        out: list[dict[str, Any]] = []
        for row in rows:
            hist = histories[row.id]
            evaluated = credit_service.evaluate(row.id, row.uscc, hist, on)
            entry = (
                red_entry(row, evaluated) if kind == "red" else black_entry(row, evaluated, hist)
            )
            if entry is not None:
                out.append(entry)
        yield out
        after = rows[-1].uscc
