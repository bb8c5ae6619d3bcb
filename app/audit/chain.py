"""The audit hash chain, as pure functions (SPEC §7)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from app.journal.leaf import canonical

GENESIS = "0" * 64


def entry_payload(
    *,
    seq: int,
    at: dt.datetime,
    actor_key_id: uuid.UUID | None,
    actor_role: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(),
        "actor_key_id": str(actor_key_id) if actor_key_id else None,
        "actor_role": actor_role,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }


def link_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(payload)).hexdigest()
