"""The publication format as pure functions: canonical entry lines and the hash
over them. No I/O.

An entry's line is its JSON with sorted keys, no spaces and UTF-8 unescaped
(`json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`);
a publication's `sha256` is the SHA-256 of its lines in uscc order, each followed
by "\\n" (SPEC §5). Anyone can recompute it from a download with the standard
library alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

Kind = Literal["red", "black"]
KINDS: tuple[Kind, ...] = ("red", "black")
KIND_ZH = {"red": "红榜", "black": "黑榜"}

# What makes an entry present in both publications "changed" (SPEC §5 diff).
CHANGE_FIELDS: dict[str, tuple[str, ...]] = {
    "red": ("grade",),
    "black": ("reasons", "listed_since", "expected_exit"),
}


def canonical_line(entry: dict[str, Any]) -> str:
    """The one line an entry is published and hashed as (without its newline)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class LineDigest:
    """SHA-256 over lines fed one at a time, each terminated by a newline."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def update(self, line: str) -> None:
        self._hash.update(line.encode("utf-8") + b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def digest(lines: Iterable[str]) -> str:
    """The publication hash of these lines (already in uscc order)."""
    d = LineDigest()
    for line in lines:
        d.update(line)
    return d.hexdigest()


def digest_entries(entries: Iterable[dict[str, Any]]) -> str:
    """The publication hash recomputed from parsed entries, as a client would."""
    return digest(canonical_line(e) for e in entries)
