"""Policy versions over time (SPEC §4.1): the stored `effective_from` of `v2`, set
at first start and changed only while still in the future, and the published
versions (`GET /v1/policies`, `GET /v1/policies/{version}`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.clock import today
from app.core.database import db_now
from app.core.errors import NotFound
from app.core.principal import SYSTEM
from app.core.routing import AutoCommitRoute, responses
from app.credit import service as credit_service
from app.credit.models import PolicyVersion
from app.organizations.models import Organization
from app.policy import versions
from app.records.models import Violation

log = structlog.get_logger("qcr.policy")
router = APIRouter(tags=["credit"], route_class=AutoCommitRoute)
SCHEDULE_LOCK_ID = 0x51C4_0009


async def _scheduled(
    session: AsyncSession, before: dict[str, Any] | None, requested: dt.date
) -> None:
    await session.flush()
    await journal.record(
        session,
        SYSTEM,
        action="policy.schedule",
        entity="policy_version",
        entity_id="v2",
        before=before,
        after={"effective_from": requested},
    )


async def load_schedule(session: AsyncSession, requested: dt.date) -> dt.date:
    """Store `v2`'s date at first start; move it only when both the stored and the
    requested date are still in the future (history is never rewritten); configure
    this process with the stored date and return it."""
    # Replicas starting together on a new database: the first stores the date,
    # the others wait for its commit and read it (FOR UPDATE locks no missing row;
    # both inserted, and the second process failed to start).
    await session.execute(select(func.pg_advisory_xact_lock(SCHEDULE_LOCK_ID)))
    stored = await session.get(PolicyVersion, "v2", with_for_update=True)
    now = today()
    if stored is None:
        stored = PolicyVersion(
            version="v2", effective_from=requested, recorded_at=await db_now(session)
        )
        session.add(stored)
        await _scheduled(session, None, requested)
    elif stored.effective_from != requested:
        if stored.effective_from > now and requested > now:
            before = {"effective_from": stored.effective_from}
            stored.effective_from = requested
            stored.recorded_at = await db_now(session)
            await _scheduled(session, before, requested)
        else:
            log.warning(
                "policy_v2_from_kept",
                stored=stored.effective_from.isoformat(),
                requested=requested.isoformat(),
                detail="the date may change only while both it and the new one are in the future",
            )
    versions.configure(stored.effective_from)
    log.info("policy_schedule", v2_from=stored.effective_from.isoformat())
    if stored.effective_from <= now:
        await _derive_missing_periods(session)
    return stored.effective_from


async def _derive_missing_periods(session: AsyncSession, batch: int = 1000) -> None:
    """Organizations whose violations have no v2 period yet are refreshed once."""
    while True:
        rows = (
            await session.execute(
                select(Organization.id, Organization.uscc)
                .where(
                    Organization.id.in_(
                        select(Violation.organization_id).where(Violation.public_until.is_(None))
                    )
                )
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        await credit_service.refresh(session, [(r.id, r.uscc) for r in rows])


VersionPath = Annotated[str, Path(max_length=8, pattern=r"^v[0-9]{1,6}$")]


@router.get("/v1/policies", responses=responses(422))
async def list_policies() -> dict[str, Any]:
    """Every policy version with its `effective_from`, rules, windows and periods as data."""
    return {"items": [versions.as_data(p) for p in versions.current().versions]}


@router.get("/v1/policies/{version}", responses=responses(404, 422))
async def get_policy(version: VersionPath) -> dict[str, Any]:
    """One policy version as data."""
    found = versions.find(version)
    if found is None:
        raise NotFound(f"no policy version {version}")
    return versions.as_data(found)
