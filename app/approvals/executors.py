"""The acts four eyes guards, run on approval as the approving official with the
proposal's payload (the guard checks it again): `black_list.publish`,
`repair.decide`, `objection.decide`. Their answer is the approval's `result`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import service
from app.approvals.models import Approval
from app.core.errors import Conflict
from app.core.principal import Principal
from app.credit import repairs
from app.dueprocess import objections
from app.dueprocess.models import Objection
from app.lists import retractions
from app.lists import service as lists_service
from app.lists.models import ListPublication
from app.lists.schemas import PublicationSummary


def _done(result: object) -> None:
    if not isinstance(result, ListPublication | Objection | tuple):
        raise Conflict("the act asked for another approval")  # never: the approval is passed


async def publish_black_list(
    session: AsyncSession, actor: Principal, approval: Approval
) -> dict[str, Any]:
    p = approval.payload
    publication = await lists_service.publish_list(
        session,
        actor,
        p["kind"],
        as_of=dt.date.fromisoformat(p["as_of"]),
        note=p["note"],
        approval=approval,
    )
    _done(publication)
    return PublicationSummary.model_validate(publication).model_dump(mode="json")


async def _decide(
    decide: Callable[..., Awaitable[object]],
    session: AsyncSession,
    actor: Principal,
    approval: Approval,
    subject: str,
    *more: str,
) -> Any:
    """A decision act: the subject's id, the decision, the reason and any `more` payload keys."""
    p = approval.payload
    args = (uuid.UUID(p[subject]), p["decision"], p["reason"], *(p[key] for key in more))
    result = await decide(session, actor, *args, approval=approval)
    _done(result)
    return result


async def decide_repair(
    session: AsyncSession, actor: Principal, approval: Approval
) -> dict[str, Any]:
    found = await _decide(repairs.decide, session, actor, approval, "repair_id")
    repair, org = found
    return dict(repairs.snapshot(repair)) | {"id": str(repair.id), "uscc": org.uscc}


async def decide_objection(
    session: AsyncSession, actor: Principal, approval: Approval
) -> dict[str, Any]:
    objection = await _decide(
        objections.decide, session, actor, approval, "objection_id", "correction"
    )
    return dict(objections.snapshot(objection)) | {"id": str(objection.id)}


async def retract_entries(
    session: AsyncSession, actor: Principal, approval: Approval
) -> dict[str, Any]:
    p = approval.payload
    made = await retractions.retract(
        session, actor, p["kind"], p["number"], p["uscc"], p["reason"], approval=approval
    )
    _done(made)
    return PublicationSummary.model_validate(made).model_dump(mode="json")


def install() -> None:
    service.register_executor("list.retract", retract_entries)
    service.register_executor("black_list.publish", publish_black_list)
    service.register_executor("repair.decide", decide_repair)
    service.register_executor("objection.decide", decide_objection)
