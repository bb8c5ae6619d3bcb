"""The measures catalogue (奖惩措施清单), maintained by regulators and audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import Reader, db_now, one_or_404
from app.core.models import fields
from app.core.principal import Principal
from app.partners.models import Measure
from app.partners.schemas import MeasureWrite

FIELDS = ("matter", "target_list", "measure", "department", "legal_basis")


def snapshot(measure: Measure) -> dict[str, object]:
    return fields(measure, FIELDS) | {"version": measure.version}


MEASURE = journal.Audited("measure", snapshot)


async def create(session: AsyncSession, actor: Principal, body: MeasureWrite) -> Measure:
    now = await db_now(session)
    measure = Measure(**body.model_dump(), created_by=actor.key_id, created_at=now, updated_at=now)
    measure.version = 1
    return await MEASURE.save(session, actor, measure, "measure.create")


async def find(session: Reader, measure_id: uuid.UUID, *, for_update: bool = False) -> Measure:
    statement = select(Measure).where(Measure.id == measure_id)
    return await one_or_404(
        session, statement, f"no measure {measure_id} in the catalogue", for_update=for_update
    )


async def replace(
    session: AsyncSession, actor: Principal, measure_id: uuid.UUID, body: MeasureWrite
) -> Measure:
    """Change a measure; the audit entry keeps the previous text."""
    measure = await find(session, measure_id, for_update=True)
    before = snapshot(measure)
    for field, value in body.model_dump().items():
        setattr(measure, field, value)
    if snapshot(measure) == before:
        return measure  # nothing changed: no new version, no audit entry
    measure.version += 1
    measure.updated_at = await db_now(session)
    return await MEASURE.save(session, actor, measure, "measure.update", before=before)


async def page(
    session: Reader, *, target_list: str | None, after: uuid.UUID | None, limit: int
) -> list[Measure]:
    statement = select(Measure).order_by(Measure.id).limit(limit)
    if target_list is not None:
        statement = statement.where(Measure.target_list == target_list)
    if after is not None:
        statement = statement.where(Measure.id > after)
    return list((await session.scalars(statement)).all())
