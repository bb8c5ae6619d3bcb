"""Signals: raised from the day's findings (one open per key, raised again only
when its level rises), moved through their lifecycle, every step audited."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import db_now
from app.core.errors import Conflict, NotFound, invalid
from app.core.principal import SYSTEM, Principal
from app.signals import rules
from app.signals.detect import Finding
from app.signals.models import Signal
from app.signals.schemas import SignalTransition

MOVES = {
    "new": frozenset({"triaged"}),
    "triaged": frozenset({"escalated", "dismissed"}),
    "escalated": frozenset({"closed"}),
    "dismissed": frozenset({"closed"}),
}


def audit_view(signal: Signal) -> dict[str, Any]:
    """The audit holds no floats (SPEC §7): the figures as text."""
    return {
        "key": signal.key,
        "day": signal.day,
        "level": signal.level,
        "status": signal.status,
        "rules_version": signal.rules_version,
        "expected": repr(signal.expected),
        "observed": repr(signal.observed),
        "bound": repr(signal.bound),
        "p_value": repr(signal.p_value),
        "reason": signal.reason,
    }


SIGNAL = journal.Audited("signal", audit_view)


async def _open(session: AsyncSession, key: str) -> Signal | None:
    return await session.scalar(
        select(Signal).where(Signal.key == key, Signal.status != "closed").with_for_update()
    )


async def raise_findings(session: AsyncSession, day: dt.date, found: list[Finding]) -> int:
    """Store a signal per finding unless one as severe is open for its key."""
    raised = 0
    version = rules.in_force(day)["version"]
    for finding in sorted(found, key=lambda f: f.key):
        current = await _open(session, finding.key)
        if current is not None and finding.level >= current.level:
            continue
        now = await db_now(session)
        if current is not None:  # worse than before: the old one gives way
            before = audit_view(current)
            current.status, current.reason = "closed", f"superseded by level {finding.level}"
            current.updated_at, current.version = now, current.version + 1
            await SIGNAL.save(session, SYSTEM, current, "signal.superseded", before=before)
        d = finding.detection
        signal = Signal(
            key=finding.key,
            method=d.method,
            source=finding.source,
            category=finding.category,
            region=finding.region,
            day=day,
            level=finding.level,
            rules_version=version,
            params=finding.params,
            baseline=d.baseline | {"history": finding.history},
            expected=d.expected,
            observed=d.observed,
            bound=d.bound,
            statistic=d.statistic,
            p_value=d.p_value,
            records=finding.records,
            created_at=now,
            updated_at=now,
        )
        await SIGNAL.save(session, SYSTEM, signal, "signal.raised")
        raised += 1
    return raised


async def move(
    session: AsyncSession, actor: Principal, id: uuid.UUID, body: SignalTransition
) -> Signal:
    """new → triaged → escalated | dismissed (reason) → closed; anything else is 409."""
    signal = await session.get(Signal, id, with_for_update=True, populate_existing=True)
    if signal is None:
        raise NotFound(f"no signal {id}")
    if body.to not in MOVES.get(signal.status, frozenset()):
        raise Conflict(f"a {signal.status} signal cannot move to {body.to}")
    if body.to == "dismissed" and body.reason is None:
        raise invalid("reason", "a dismissal needs its reason")
    before = audit_view(signal)
    signal.status = body.to
    if body.reason is not None:
        signal.reason = body.reason
    signal.updated_at, signal.version = await db_now(session), signal.version + 1
    return await SIGNAL.save(session, actor, signal, f"signal.{body.to}", before=before)
