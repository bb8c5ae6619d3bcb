"""The Merkle tree in the database: roots and proofs from O(log n) stored blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Reader
from app.journal import merkle
from app.journal.merkle import Block, Range
from app.journal.models import LogLeaf, TreeNode


async def fetch_blocks(session: Reader, wanted: Iterable[Block]) -> dict[Block, bytes]:
    """Stored hashes of complete aligned blocks: two indexed lookups at most."""
    wanted = set(wanted)
    leaves = [index + 1 for level, index in wanted if level == 0]
    nodes = [(level, index) for level, index in wanted if level > 0]
    found: dict[Block, bytes] = {}
    if leaves:
        leaf_rows = await session.execute(
            select(LogLeaf.seq, LogLeaf.leaf_hash).where(LogLeaf.seq.in_(leaves))
        )
        found.update({(0, seq - 1): bytes.fromhex(h) for seq, h in leaf_rows})
    if nodes:
        node_rows = await session.execute(
            select(TreeNode.level, TreeNode.index, TreeNode.hash).where(
                tuple_(TreeNode.level, TreeNode.index).in_(nodes)
            )
        )
        found.update({(level, index): bytes.fromhex(h) for level, index, h in node_rows})
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"the tree lacks blocks {sorted(missing)[:3]}")
    return found


async def range_hashes(session: Reader, ranges: Sequence[Range]) -> list[bytes]:
    wanted = [b for s, e in ranges for b in merkle.blocks(s, e)]
    found = await fetch_blocks(session, wanted)
    return merkle.range_hashes(ranges, found.__getitem__)


async def root(session: Reader, size: int) -> bytes:
    """MTH of the first `size` leaves."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return (await range_hashes(session, [(0, size)]))[0]


async def inclusion_proof(session: Reader, index: int, size: int) -> list[bytes]:
    return await range_hashes(session, merkle.inclusion_ranges(index, size))


async def consistency_proof(session: Reader, first: int, second: int) -> list[bytes]:
    return await range_hashes(session, merkle.consistency_ranges(first, second))


async def append(session: AsyncSession, size: int, leaf_hashes: Sequence[bytes]) -> None:
    """Store the blocks that `leaf_hashes` (already in audit_log) complete."""
    frontier = await fetch_blocks(session, merkle.frontier(size))
    rows = [
        {"level": level, "index": index, "hash": h.hex()}
        for level, index, h in merkle.new_blocks(size, leaf_hashes, frontier.__getitem__)
    ]
    if rows:
        await session.execute(insert(TreeNode), rows)
