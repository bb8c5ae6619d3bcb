"""A big audit log built in bulk (SQL, no API calls), for the proof benchmark
(scripts/bench/proofs.py) and its test: entries with real canonical leaf bytes
(`generate_series`), their leaves, and every complete subtree level by level
with PostgreSQL's `sha256()` — the tables the sequencer fills, so the server,
its sequencer and `qcr audit verify` take the log as their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.journal import leaf, merkle

ACTION = "bench.entry"
ROLE = "admin"
AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# Entry i: its canonical leaf (app.journal.leaf) with `after` {"n": i} and
# entity_id "i", as a format() template (sorted keys: `after` comes first).
_ENTRIES = text(
    "INSERT INTO audit_entries (at, actor_key_id, actor_role, action, entity, entity_id,"
    " before, after, leaf) "
    "SELECT :at, NULL, :role, :action, 'bench', i::text, NULL, jsonb_build_object('n', i),"
    " convert_to(format(CAST(:template AS text), i, i), 'UTF8') "
    "FROM generate_series(1, :n) AS i ORDER BY i"
)


def leaf_template() -> str:
    obj = leaf.leaf_object(
        at=AT,
        actor_key_id=None,
        actor_role=ROLE,
        action=ACTION,
        entity="bench",
        entity_id="@@i@@",
        before=None,
        after={"n": "@@n@@"},
    )
    raw = leaf.canonical(obj).decode().replace("%", "%%")
    return raw.replace('"@@n@@"', "%s").replace("@@i@@", "%s")


_LEAVES = text(
    "INSERT INTO audit_log (seq, entry_id, leaf_hash, sequenced_at) "
    "SELECT row_number() OVER (ORDER BY id), id,"
    " encode(sha256('\\x00'::bytea || leaf), 'hex'), now() "
    "FROM audit_entries WHERE action = :action AND id > :after_id"
)
_LEVEL_1 = text(
    "INSERT INTO audit_tree_nodes (level, index, hash) "
    "SELECT 1, (l.seq - 1) / 2, encode(sha256('\\x01'::bytea"
    " || decode(l.leaf_hash, 'hex') || decode(r.leaf_hash, 'hex')), 'hex') "
    "FROM audit_log l JOIN audit_log r ON r.seq = l.seq + 1 WHERE l.seq % 2 = 1"
)
_LEVEL = text(
    "INSERT INTO audit_tree_nodes (level, index, hash) "
    "SELECT :level, l.index / 2, encode(sha256('\\x01'::bytea"
    " || decode(l.hash, 'hex') || decode(r.hash, 'hex')), 'hex') "
    "FROM audit_tree_nodes l JOIN audit_tree_nodes r"
    " ON r.level = l.level AND r.index = l.index + 1 "
    "WHERE l.level = :below AND l.index % 2 = 0"
)
# The sequencer resumes from its last batch: the tree is now n leaves; the
# horizon and the feed stay where they were (nothing else was sequenced).
_BATCH = text(
    "INSERT INTO sequencer_batches (horizon, tree_size, feed_size, at) "
    "SELECT coalesce((SELECT horizon FROM sequencer_batches ORDER BY id DESC LIMIT 1), 0), :n,"
    " coalesce((SELECT feed_size FROM sequencer_batches ORDER BY id DESC LIMIT 1), 0), now()"
)


async def build_log(conn: AsyncConnection, n: int) -> None:
    """Append `n` entries and their tree to an empty log, in the caller's transaction."""
    size = await conn.scalar(text("SELECT count(*) FROM audit_log"))
    if size:
        raise RuntimeError(f"the log already has {size} leaves: build on an empty log")
    after_id = await conn.scalar(text("SELECT coalesce(max(id), 0) FROM audit_entries"))
    values = {"at": AT, "role": ROLE, "action": ACTION, "template": leaf_template(), "n": n}
    await conn.execute(_ENTRIES, values)
    await conn.execute(_LEAVES, {"action": ACTION, "after_id": after_id})
    if n >= 2:
        await conn.execute(_LEVEL_1)
    for level in range(2, n.bit_length()):
        await conn.execute(_LEVEL, {"level": level, "below": level - 1})
    await conn.execute(_BATCH, {"n": n})


def root_of(leaf_hashes: list[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) of the leaf hashes, computed here, apart from the store."""

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = merkle.split(end - start)
        return merkle.node_hash(mth(start, start + k), mth(start + k, end))

    return mth(0, len(leaf_hashes)) if leaf_hashes else merkle.EMPTY_ROOT
