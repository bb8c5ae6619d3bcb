"""Inclusion and consistency proofs read in one prepared statement each (STYLE
"Hot paths"): the tree's current size, the entry (for an inclusion proof) and
the stored blocks the proof folds come back in one round trip, on the hot pool
or on the request's own connection.

An inclusion proof of leaf m in a tree of n leaves (RFC 9162 §2.1.3) is one
hash per level: the sibling of m's ancestor, a complete aligned block when it
lies left of m or ends within n; otherwise it is the tree's right edge, a fold
of the complete blocks of n below that level (`merkle.blocks`). So the blocks
any such proof needs are among {(l, (m >> l) xor 1)} and {(l, (n >> l) − 1)
for each bit l of n}: at most 2·⌈log2 n⌉ rows, found by primary key, which the
statement computes itself when n is the current size it has just read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from app.journal import leaf, merkle
from app.journal.merkle import Block, Range


class Driver(Protocol):
    """An asyncpg pool or connection: one prepared statement a call."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...


# `wanted(level, index)` -> the blocks found: level 0 in audit_log (seq = index
# + 1), the others in audit_tree_nodes, each by its primary key.
_FOUND = """
found AS (
    SELECT w.level, w.index, t.hash
    FROM wanted w JOIN audit_tree_nodes t ON t.level = w.level AND t.index = w.index
    WHERE w.level > 0
    UNION ALL
    SELECT 0, w.index, a.leaf_hash
    FROM wanted w JOIN audit_log a ON a.seq = w.index + 1
    WHERE w.level = 0
)"""

_BLOCKS = """
LEFT JOIN LATERAL (
    SELECT coalesce(array_agg(level), '{}') AS levels,
           coalesce(array_agg(index), '{}') AS indexes,
           coalesce(array_agg(hash), '{}') AS hashes
    FROM found
) b ON true"""

# The statements are assembled from constants of this module, never from input.
# $1 seq, $2 tree_size (null: the current size). Nothing is read for the proof
# when the answer is a problem (tree_size beyond the log, seq beyond tree_size).
INCLUSION_SQL = f"""
WITH sizes AS (
    SELECT current, coalesce($2::bigint, current) AS n
    FROM (SELECT coalesce(max(seq), 0) AS current FROM audit_log) c
), wanted AS (
    SELECT l AS level, ((($1::bigint - 1) >> l) # 1) AS index
    FROM sizes, generate_series(0, 62) AS l
    WHERE $1::bigint <= n AND n <= current AND (1::bigint << l) < n
      AND (((($1::bigint - 1) >> l) # 1) + 1) << l <= n
    UNION
    SELECT l, (n >> l) - 1
    FROM sizes, generate_series(0, 62) AS l
    WHERE $1::bigint <= n AND n <= current AND ((n >> l) & 1) = 1
), {_FOUND}
SELECT s.current, s.n, l.leaf_hash, e.uscc, e.at, e.actor_key_id, e.actor_role,
       e.action, e.entity, e.entity_id, e.before, e.after, b.levels, b.indexes, b.hashes
FROM sizes s
LEFT JOIN (audit_log l JOIN audit_entries e ON e.id = l.entry_id) ON l.seq = $1::bigint
{_BLOCKS}
"""  # noqa: S608

# $1 levels, $2 indexes: the blocks the proof folds (computed by the caller).
CONSISTENCY_SQL = f"""
WITH wanted AS (
    SELECT * FROM unnest($1::int[], $2::bigint[]) AS w(level, index)
), {_FOUND}
SELECT (SELECT coalesce(max(seq), 0) FROM audit_log) AS current,
       b.levels, b.indexes, b.hashes
FROM (SELECT 1) one
{_BLOCKS}
"""  # noqa: S608


async def inclusion(driver: Driver, seq: int, tree_size: int | None) -> Any:
    """One row: `current` and `n` (the tree size asked, or the current one), the
    entry of `seq` (null columns when it is not sequenced) and the blocks its
    proof in a tree of `n` folds."""
    return await driver.fetchrow(INCLUSION_SQL, seq, tree_size)


async def consistency(driver: Driver, first: int, second: int) -> Any:
    """One row: `current`, and the blocks of the consistency proof `first` → `second`."""
    wanted = _blocks(merkle.consistency_ranges(first, second))
    return await driver.fetchrow(
        CONSISTENCY_SQL, [level for level, _ in wanted], [index for _, index in wanted]
    )


def _blocks(ranges: Sequence[Range]) -> list[Block]:
    return sorted({b for start, end in ranges for b in merkle.blocks(start, end)})


def folded(row: Any, ranges: Sequence[Range]) -> list[str]:
    """The proof's hashes (hex) from the row's blocks."""
    found = {
        (level, index): bytes.fromhex(h)
        for level, index, h in zip(row["levels"], row["indexes"], row["hashes"], strict=True)
    }
    missing = set(_blocks(ranges)) - found.keys()
    if missing:
        raise LookupError(f"the tree lacks blocks {sorted(missing)[:3]}")
    return [h.hex() for h in merkle.range_hashes(ranges, found.__getitem__)]


_CONVERTED = ("at", "actor_key_id")


def entry_json(fields: Mapping[str, Any], seq: int | None, leaf_hash: str | None) -> dict[str, Any]:
    """An entry as SPEC §7 serves it, from its columns by name (`leaf.LEAF_FIELDS`);
    `before` and `after` as stored."""
    key_id = fields["actor_key_id"]
    return {
        "seq": seq,
        "leaf_hash": leaf_hash,
        "at": leaf.rfc3339(fields["at"]),
        "actor_key_id": str(key_id) if key_id is not None else None,
    } | {name: fields[name] for name in leaf.LEAF_FIELDS if name not in _CONVERTED}
