"""The one place a complaint write records its side effects (audit entry, and a
change event where one is due). When the journal (app/journal) lands, this is
the only function to repoint.

Complaints emit no change event: the feed is for partners, and a complaint's
identity and contents are not theirs (art. 33); its effect on credit (C1) reaches
the feed as the credit change it causes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.changes import service as changes
from app.core.principal import Principal


def private_digest(salt: bytes, value: str | None) -> str | None:
    """SPEC §7: a private field enters the log only as SHA-256(salt ‖ value)."""
    if value is None:
        return None
    return hashlib.sha256(salt + value.encode("utf-8")).hexdigest()


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
    """Append the audit entry (and the change event `(type, uscc, data)`, if any)."""
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
        await changes.emit(session, *event)
