"""The side effects of a due-process write: its audit entry and, when it has one,
its change event, in the writer's transaction. One helper, so that moving to the
journal (STYLE 18) is a change in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.changes import service as changes
from app.core.principal import Principal


async def record(
    session: AsyncSession,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    event: tuple[str, str, dict[str, Any]] | None = None,
) -> None:
    """Append the audit entry and, if given, the change event `(type, uscc, data)`."""
    await audit_service.record(
        session,
        actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    if event is not None:
        type_, uscc, data = event
        await changes.emit(session, type_, uscc, data)
