"""What an objection may be about (SPEC §9): a registry of record types, so that a
package above this one (complaints) registers its own kind at start-up.

A target finds its record (the organization, who last edited it, whether the
change feed may name it) and, when an objection is upheld, corrects or revokes
it as a new version, never an edit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import today
from app.core.errors import NotFound, Unprocessable
from app.core.principal import Principal
from app.records import service as records_service
from app.records.kinds import GRADE, INSPECTION, RECALL, VIOLATION, Kind
from app.records.models import RecordVersion
from app.records.schemas import InspectionPatch, RecallPatch, ViolationPatch


@dataclass(frozen=True)
class Found:
    organization_id: uuid.UUID
    uscc: str
    last_editor: uuid.UUID | None  # the key that recorded its latest version
    public: bool  # whether the change feed may name it


Finder = Callable[[AsyncSession, uuid.UUID], Awaitable[Found | None]]
# (session, actor, record id, correction or None: revoke, reason) -> None
Corrector = Callable[
    [AsyncSession, Principal, uuid.UUID, dict[str, Any] | None, str], Awaitable[None]
]


@dataclass(frozen=True)
class Target:
    record_type: str
    find: Finder
    upheld: Corrector


_TARGETS: dict[str, Target] = {}


def register(target: Target) -> None:
    _TARGETS[target.record_type] = target


def get(record_type: str) -> Target:
    target = _TARGETS.get(record_type)
    if target is None:
        raise NotFound(f"objections on {record_type} records are not kept by this registry")
    return target


_PATCHES: dict[str, Any] = {
    VIOLATION.name: ViolationPatch,
    INSPECTION.name: InspectionPatch,
    RECALL.name: RecallPatch,
}


def _record_target(record_type: str, kind: Kind) -> Target:
    async def find(session: AsyncSession, record_id: uuid.UUID) -> Found | None:
        try:
            record, org = await records_service.find(session, kind, record_id)
        except NotFound:
            return None
        editor = await session.scalar(
            select(RecordVersion.recorded_by)
            .where(RecordVersion.record_type == kind.name, RecordVersion.record_id == record_id)
            .order_by(RecordVersion.version.desc())
            .limit(1)
        )
        public = kind is not VIOLATION or records_service.violation_is_public(record)  # type: ignore[arg-type]
        return Found(org.id, org.uscc, editor, public)

    async def upheld(
        session: AsyncSession,
        actor: Principal,
        record_id: uuid.UUID,
        correction: dict[str, Any] | None,
        reason: str,
    ) -> None:
        record, org = await records_service.find(session, kind, record_id, for_update=True)
        if correction is None:
            if kind is not VIOLATION:
                raise Unprocessable(
                    f"an upheld objection on a {record_type} needs a correction",
                    errors=[{"field": "correction", "message": "is required for this record"}],
                )
            changes = {"revoked_on": today(), "revoked_reason": reason}
            change = "revoked"
        else:
            schema = _PATCHES.get(kind.name)
            if schema is None:
                raise Unprocessable(
                    f"a {record_type} is not corrected in place",
                    errors=[{"field": "correction", "message": "not allowed for this record"}],
                )
            try:
                patch = schema.model_validate(correction)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in ("correction", *first["loc"]))
                raise Unprocessable(
                    f"{field}: {first['msg']}", errors=[{"field": field, "message": first["msg"]}]
                ) from None
            changes = patch.model_dump(exclude_unset=True)
            change = "corrected"
        await records_service.apply_changes(
            session, actor, kind, record, org, changes, change=change
        )

    return Target(record_type, find, upheld)


for _type, _kind in (
    ("violation", VIOLATION),
    ("inspection", INSPECTION),
    ("recall", RECALL),
    ("grade", GRADE),
):
    register(_record_target(_type, _kind))
