"""The audit hash chain, as pure functions (SPEC §7)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from app.journal.leaf import canonical, leaf_object

GENESIS = "0" * 64


def entry_payload(
    *, seq: int, at: dt.datetime, before: Any, after: Any, **who: Any
) -> dict[str, Any]:
    """A chain link's payload: the fields of the entry's leaf (`who`: actor, action
    and entity), with its `seq`, `at` in ISO format and `before`/`after` as stored."""
    stored = {"seq": seq, "at": at.astimezone(dt.UTC).isoformat(), "before": before, "after": after}
    return leaf_object(at=at, before=None, after=None, **who) | stored


def link_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(payload)).hexdigest()
