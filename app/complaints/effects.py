"""The one place a complaint write records its side effects: through the journal
(its audit entry, a change event where one is due, and the after-write listeners
— the credit refresh that rule C1 needs when a complaint is substantiated).

Complaints emit no change event: the feed is for partners, and a complaint's
identity and contents are not theirs (art. 33); its effect on credit (C1) reaches
the feed as the credit change it causes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.principal import Principal


def private_digest(salt: bytes, value: str | None) -> str | None:
    """SPEC §7: a private field enters the log only as SHA-256(salt ‖ value)."""
    return journal.private_digest(salt, value)


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
    """Journal the write (audit entry, optional change event `(type, data)`, listeners)."""
    await journal.record(
        session,
        actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        uscc=uscc,
        before=before,
        after=after,
        event=event,
    )
