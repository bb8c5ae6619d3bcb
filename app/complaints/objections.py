"""Objections on complaints (SPEC §9: `record_type` `complaint`). A substantiated
complaint counts in credit (rule C1), so the enterprise may object to it. Due
process keeps a registry of what an objection may be about; complaints sit above
it, so app/wiring.py registers this target there at start-up.

The recorder is the key that last moved the case (who marked it substantiated):
it may not decide. Upheld, the substantiation is withdrawn as the case's next
version (never an edit in place), and credit is recomputed by the decision's
transaction. A complaint is never named in the change feed (its id would lead
to a complainant's case), so the objection's event does not name it either."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints import service
from app.complaints.models import Complaint
from app.core.errors import Unprocessable
from app.core.principal import Principal
from app.dueprocess import targets
from app.journal.models import AuditEntry

# The one correction an upheld objection may make to a complaint.
WITHDRAWN = {"substantiated": False}


async def find(session: AsyncSession, complaint_id: uuid.UUID) -> targets.Found | None:
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    editor = await session.scalar(
        select(AuditEntry.actor_key_id)
        .where(AuditEntry.entity == "complaint", AuditEntry.entity_id == str(complaint_id))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return targets.Found(complaint.organization_id, complaint.uscc, editor, public=False)


async def upheld(
    session: AsyncSession,
    actor: Principal,
    complaint_id: uuid.UUID,
    correction: dict[str, Any] | None,
    reason: str,
) -> None:
    """The complaint no longer counts as substantiated: its next version says so
    (the reason is the objection's decision)."""
    if correction is not None and correction != WITHDRAWN:
        raise Unprocessable(
            "an upheld objection on a complaint withdraws its substantiation only",
            errors=[{"field": "correction", "message": 'absent, or {"substantiated": false}'}],
        )
    complaint = await service.locked(session, complaint_id)
    before = service.audit_view(complaint)
    await service.new_version(
        session, actor, complaint, "complaint.substantiation_withdrawn", before, False
    )


TARGET = targets.Target("complaint", find, upheld)
