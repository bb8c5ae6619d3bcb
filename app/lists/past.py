"""Lists as of a past date, evaluated from the records' history (SPEC §4: the
records' own dates decide, using everything the registry knows now). A black
entry names only violations still inside their publication period today.

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

from app.core.clock import today
from app.credit import service as credit_service
from app.lists import repository
from app.policy import policy, publication, versions

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
    # Published today: a violation whose publication period (信用信息公示期) has ended
    # by today, under the version in force today, is not republished (SPEC §5:
    # afterwards only regulators see it), and an entry that rests only on such
    # violations is left out — its name alone would say what may no longer be said.
    # A period that ends after today is redacted at read time (app/lists/redaction.py).
    on = today()
    schedule = versions.current()
    violations = sorted(
        (
            v
            for v in hist.violations
            if v.id in behind and publication.is_public(v, on, schedule, hist.violations)
        ),
        key=lambda v: (v.decided_on, v.authority, v.case_no),
    )
    if not violations:
        return None
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
        histories = await credit_service.histories_of(session, statuses)
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
