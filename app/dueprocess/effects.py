"""The side effects of a due-process write: its audit entry and, when it has one,
its change event, through the journal (STYLE 18), in the writer's transaction.
One helper, so that every due-process write records the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.principal import Principal


async def record(
    session: AsyncSession,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: str,
    uscc: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    event: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Append the audit entry and, if given, the change event `(type, data)` about `uscc`."""
    await journal.record(
        session,
        actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        uscc=uscc,
        before=journal_safe(before),
        after=journal_safe(after),
        event=event,
    )


def journal_safe(value: dict[str, Any] | None) -> Any:
    from app.journal import leaf

    return leaf.jsonable(value) if value is not None else None
