"""Credit repair (信用修复, SPEC §4.5): requested by the enterprise for its own
organization or by a regulator; decided by a regulator; an approval takes effect
from the decision date as a new version of the violation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.auth import guards
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.models import fields
from app.core.principal import Principal
from app.credit.models import RepairRequest
from app.organizations.models import Organization
from app.policy import policy
from app.records import as_policy
from app.records import service as records_service
from app.records.kinds import VIOLATION
from app.records.models import Violation


def _check_eligible(v: Violation) -> None:
    refusal = policy.repair_eligibility(as_policy.violation_of(v), today())
    if refusal is not None:
        code, message = refusal
        raise Unprocessable(
            f"credit repair is not allowed: {message}",
            errors=[{"field": "violation_id", "message": message}],
            extra={"reason": code},
        )


async def _public(session: AsyncSession, repair: RepairRequest) -> bool:
    """Name the violation in the feed only inside its publication period."""
    violation = await session.get(Violation, repair.violation_id)
    return violation is not None and records_service.violation_is_public(violation)


AUDITED_FIELDS = ("violation_id", "status", "reason", "decided_on", "decision_reason")


def snapshot(r: RepairRequest) -> dict[str, object]:
    return fields(r, AUDITED_FIELDS)


REPAIR = journal.Audited("repair", snapshot)


def _changed(
    type: str, repair: RepairRequest, public: bool, **data: Any
) -> tuple[str, dict[str, Any]]:
    """A repair's change event: the violation named only while it is public."""
    named = {"violation_id": repair.violation_id} if public else {}
    return type, {"id": repair.id, "status": repair.status} | data | named


async def request(
    session: AsyncSession, actor: Principal, org: Organization, violation_id: uuid.UUID, reason: str
) -> RepairRequest:
    """File a repair request for one of the organization's violations."""
    if not (actor.is_regulator or actor.owns(org.uscc)):
        raise Forbidden("an enterprise key may request repair only for its own organization")
    violation = await session.get(Violation, violation_id)
    if violation is None or violation.organization_id != org.id:
        raise NotFound(f"no violation {violation_id} of {org.uscc}")
    _check_eligible(violation)
    pending = await session.scalar(
        select(RepairRequest.id).where(
            RepairRequest.violation_id == violation_id, RepairRequest.status == "pending"
        )
    )
    if pending is not None:
        raise Conflict(f"a repair request for this violation is pending: {pending}")
    repair = RepairRequest(
        organization_id=org.id,
        violation_id=violation_id,
        reason=reason,
        status="pending",
        requested_by=actor.key_id,
        requested_role=actor.role.value,
        created_at=await db_now(session),
    )
    public = records_service.violation_is_public(violation)
    return await REPAIR.save(
        session,
        actor,
        repair,
        "repair.request",
        uscc=org.uscc,
        event=lambda r: _changed("repair.requested", r, public),
    )


async def find(session: Reader, repair_id: uuid.UUID) -> tuple[RepairRequest, Organization]:
    row = (
        await session.execute(
            select(RepairRequest, Organization)
            .join(Organization, Organization.id == RepairRequest.organization_id)
            .where(RepairRequest.id == repair_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no repair request {repair_id}")
    return row[0], row[1]


async def decide(
    session: AsyncSession,
    actor: Principal,
    repair_id: uuid.UUID,
    decision: str,
    reason: str,
    *,
    approval: Any = None,
) -> tuple[RepairRequest, Organization] | guards.Pending:
    """Approve or reject; an approval marks the violation repaired from today. Four
    eyes (`repair.decide`, SPEC §9): the answer may be the pending approval."""
    repair, org = await find(session, repair_id)
    if repair.status != "pending":
        raise Conflict(f"the request was already {repair.status}")
    violation_now = await session.get(Violation, repair.violation_id)
    payload = {
        "repair_id": repair.id,
        "decision": decision,
        "reason": reason,
        "violation_version": violation_now.version if violation_now else None,
    }
    proposal = guards.Proposal(
        "repair.decide", "repair", str(repair.id), payload, repair.requested_by
    )
    pending = await guards.check(session, actor, proposal, approval)
    if pending is not None:
        return pending
    before = snapshot(repair)
    on = today()
    if decision == "approved":
        violation, _ = await records_service.find(
            session, VIOLATION, repair.violation_id, for_update=True
        )
        assert isinstance(violation, Violation)
        _check_eligible(violation)
        await records_service.apply_changes(
            session, actor, VIOLATION, violation, org, {"repaired_on": on}, change="repaired"
        )
    repair.status = decision
    repair.decided_on = on
    repair.decided_by = actor.key_id
    repair.decision_reason = reason
    decided = _changed(f"repair.{decision}", repair, await _public(session, repair), decided_on=on)
    await REPAIR.save(
        session, actor, repair, f"repair.{decision}", before=before, uscc=org.uscc, event=decided
    )
    return repair, org
