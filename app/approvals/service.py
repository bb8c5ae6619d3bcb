"""Four eyes (两人审核, SPEC §9), in one place: the guard every guarded act calls
(registered with `app.auth.guards` at start-up), and the decision on a proposal.

Officials, not keys: a regulator key names its official; a key without one, and
any admin key, can neither propose nor decide. An approval is bound to the
SHA-256 of its payload (canonical JSON), used once, and expires after 10 working
days; the approver differs from the proposer and from the official who last
edited the target. The act runs on approval, as the approver, with the payload
the guard verifies again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.approvals.models import Approval
from app.auth import guards
from app.auth.models import ApiKey
from app.calendar import service as calendar_service
from app.core.clock import today
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import Conflict, Forbidden
from app.core.principal import SYSTEM, Principal, Role
from app.journal import leaf
from app.policy import versions

log = structlog.get_logger("qcr.four_eyes")

_enabled = True
# action -> the act, run on approval: (session, approver, approval) -> its own answer
Executor = Callable[[AsyncSession, Principal, Approval], Awaitable[dict[str, Any]]]
_executors: dict[str, Executor] = {}


def register_executor(action: str, executor: Executor) -> None:
    _executors[action] = executor


def enabled() -> bool:
    return _enabled


def configure(on: bool) -> None:
    global _enabled
    _enabled = on


def payload_sha256(payload: dict[str, Any]) -> str:
    canonical = json.dumps(
        leaf.jsonable(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def as_json(a: Approval) -> dict[str, Any]:
    """The approval object of SPEC §9."""
    out: dict[str, Any] = leaf.jsonable(
        {
            "id": a.id,
            "action": a.action,
            "target": {"type": a.target_type, "id": a.target_id},
            "payload": a.payload,
            "payload_sha256": a.payload_sha256,
            "proposed_by": a.proposed_by,
            "status": a.status,
            "expires_on": a.expires_on,
            "decided_by": a.decided_by,
            "decided_at": a.decided_at,
            "decision_reason": a.decision_reason,
        }
    )
    return out


Approval.as_json = as_json  # the `guards.Pending` protocol
APPROVAL = journal.Audited("approval", as_json)


def _official(actor: Principal, doing: str) -> str:
    """The official behind the actor, or 403 naming the rule."""
    if actor.role is Role.admin:
        raise Forbidden(
            f"four eyes: an admin key can neither propose nor decide ({doing})",
            extra={"rule": "four_eyes.no_admin"},
        )
    if actor.role is not Role.regulator or not actor.official:
        raise Forbidden(
            f"four eyes: only a regulator key that names its official may {doing} "
            "(qcr apikey create … --official ID)",
            extra={"rule": "four_eyes.official_required"},
        )
    return actor.official


async def _official_of_key(session: AsyncSession, key_id: uuid.UUID | None) -> str | None:
    if key_id is None:
        return None
    official = await session.scalar(select(ApiKey.official).where(ApiKey.id == key_id))
    return official or f"key:{key_id}"


async def guard(
    session: AsyncSession, actor: Principal, proposal: guards.Proposal, approval: Any
) -> Approval | None:
    """Verify an approved act, or turn a request into a pending proposal."""
    if approval is not None:
        if not isinstance(approval, Approval) or (
            approval.action,
            approval.target_type,
            approval.target_id,
        ) != (proposal.action, proposal.target_type, proposal.target_id):
            raise Conflict("the approval is for another act")
        if payload_sha256(proposal.payload) != approval.payload_sha256:
            raise Conflict(
                "the payload changed since the proposal: the approval no longer applies",
                extra={"rule": "four_eyes.payload_changed"},
            )
        return None
    if not _enabled:
        return None
    proposer = _official(actor, "propose")
    calendar = await calendar_service.current(session)
    days = versions.current().versions[-1].approval_expiry_working_days
    expires_on = calendar.working_deadline(today(), days)
    calendar_service.warn_unknown(calendar, today(), expires_on)
    approval = Approval(
        action=proposal.action,
        target_type=proposal.target_type,
        target_id=proposal.target_id,
        payload=leaf.jsonable(proposal.payload),
        payload_sha256=payload_sha256(proposal.payload),
        proposed_by=proposer,
        proposed_key=actor.key_id,
        proposed_at=await db_now(session),
        last_editor=await _official_of_key(session, proposal.last_editor),
        expires_on=expires_on,
        status="pending",
    )
    session.add(approval)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"a proposal of {proposal.action} on this {proposal.target_type} is pending"
        ) from None
    assert isinstance(approval, Approval)
    return await APPROVAL.save(session, actor, approval, "approval.propose")


async def find(session: Reader, approval_id: uuid.UUID, *, for_update: bool = False) -> Approval:
    statement = select(Approval).where(Approval.id == approval_id)
    return await one_or_404(session, statement, f"no approval {approval_id}", for_update=for_update)


async def decide(
    session: AsyncSession, actor: Principal, approval_id: uuid.UUID, decision: str, reason: str
) -> tuple[Approval, dict[str, Any] | None]:
    """A second official approves (the act runs now, its answer is `result`) or rejects."""
    decider = _official(actor, "decide")
    approval = await find(session, approval_id, for_update=True)
    if approval.status != "pending":
        raise Conflict(f"the approval was already {approval.status}: an approval is used once")
    if today() > approval.expires_on:
        raise Conflict(
            f"the approval expired after {approval.expires_on.isoformat()}",
            extra={"rule": "four_eyes.expired"},
        )
    if decider == approval.proposed_by:
        raise Forbidden(
            "four eyes: the approver must not be the official who proposed the act",
            extra={"rule": "four_eyes.approver_is_not_proposer"},
        )
    if decider == approval.last_editor:
        raise Forbidden(
            "four eyes: the approver must not be the official who last edited the target",
            extra={"rule": "four_eyes.approver_is_not_last_editor"},
        )
    before = as_json(approval)
    result = None
    if decision == "approved":
        result = await _executors[approval.action](session, actor, approval)
    approval.status = decision
    approval.decided_by = decider
    approval.decided_key = actor.key_id
    approval.decided_at = await db_now(session)
    approval.decision_reason = reason
    approval.result = leaf.jsonable(result) if result is not None else None
    await APPROVAL.save(session, actor, approval, f"approval.{decision}", before=before)
    return approval, result


async def listing(
    session: Reader,
    *,
    status: str | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Approval]:
    """Oldest first, then id."""
    statement = select(Approval).order_by(Approval.proposed_at, Approval.id).limit(limit)
    if status:
        statement = statement.where(Approval.status == status)
    if after is not None:
        statement = statement.where((Approval.proposed_at, Approval.id) > after)  # type: ignore[operator]
    return list((await session.scalars(statement)).all())


async def pending_approvals(session: AsyncSession) -> list[Approval]:
    """For the regulators' console: pending approvals, oldest first."""
    return await listing(session, status="pending", after=None, limit=200)


@asynccontextmanager
async def suspended(session: AsyncSession, why: str) -> AsyncIterator[None]:
    """Four eyes off for the duration (demo data only: a sandbox with no officials);
    audited."""
    global _enabled
    await journal.record(
        session,
        SYSTEM,
        action="four_eyes.suspend",
        entity="setting",
        entity_id="QCR_FOUR_EYES",
        after={"four_eyes": False, "for": why},
    )
    previous, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = previous


async def start(session: AsyncSession, four_eyes: bool) -> None:
    """At start-up: set the mode; off is logged and audited (SPEC §9)."""
    configure(four_eyes)
    guards.register(guard)
    if not four_eyes:
        log.warning("four_eyes_off", detail="QCR_FOUR_EYES=false: one official acts alone")
        await journal.record(
            session,
            SYSTEM,
            action="four_eyes.off",
            entity="setting",
            entity_id="QCR_FOUR_EYES",
            after={"four_eyes": False},
        )
