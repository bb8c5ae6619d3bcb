"""The audit hash chain, as pure functions (SPEC §7)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from typing import Any

GENESIS = "0" * 64


def jsonable(value: Any) -> Any:
    """Values as they round-trip through JSONB unchanged (no floats, no datetimes)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def canonical(payload: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 unescaped."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
