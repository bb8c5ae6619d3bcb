"""The bytes of a log leaf (SPEC §7), as pure functions.

A leaf is the canonical JSON of the entry without `seq` and `leaf_hash`: keys
sorted, no spaces, UTF-8 unescaped, `at` RFC 3339 UTC with `Z`, decimals as
strings and no floats anywhere.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from typing import Any

LEAF_FIELDS = (
    "at",
    "actor_key_id",
    "actor_role",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
)


def entry_fields(entry: Any) -> dict[str, Any]:
    """An audit entry's fields that its leaf holds, by name (`LEAF_FIELDS`)."""
    return {name: getattr(entry, name) for name in LEAF_FIELDS}


def jsonable(value: Any) -> Any:
    """Values as they round-trip through JSONB unchanged: no floats, no datetimes."""
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
    if isinstance(value, float):  # SPEC §7: no floats anywhere in an entry
        return repr(value)
    return value


def canonical(payload: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 unescaped."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(at: dt.datetime) -> str:
    """UTC with `Z` and always six fraction digits, so one instant has one spelling."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_object(
    *,
    at: dt.datetime,
    actor_key_id: uuid.UUID | str | None,
    actor_role: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    return {
        "at": rfc3339(at),
        "actor_key_id": str(actor_key_id) if actor_key_id else None,
        "actor_role": actor_role,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": jsonable(before),
        "after": jsonable(after),
    }


def leaf_bytes(**fields: Any) -> bytes:
    return canonical(leaf_object(**fields))


def private_digest(salt: bytes, value: str | None) -> str | None:
    """SHA-256(salt ‖ value) in hex: how a private field enters an entry (SPEC §7)."""
    if value is None:
        return None
    return hashlib.sha256(salt + value.encode("utf-8")).hexdigest()
