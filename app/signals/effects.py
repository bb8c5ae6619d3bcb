"""The one place a signal write records its side effects: its journal entry.
Signals are the regulators' working material: no change event for partners."""

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
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await journal.record(
        session,
        actor,
        action=action,
        entity="signal",
        entity_id=entity_id,
        before=before,
        after=after,
    )
