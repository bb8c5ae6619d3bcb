"""`qcr audit verify` (SPEC §7): recompute every leaf and the tree, check every
stored tree head and every publication's witness, name the first that fails.

One pass over the log in `seq` order keeps only the tree's frontier in memory
(O(log n)), compares every stored subtree hash as it completes, and the roots at
every size that a head or a witness names."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit.models import AuditEntry
from app.audit.service import verify_chain
from app.core.progress import Advance
from app.journal import heads, leaf, merkle
from app.journal.models import LogLeaf, SigningKey, TreeHead, TreeNode
from app.lists.models import ListPublication

BATCH = 5000


@dataclass
class Report:
    leaves: int = 0
    heads: int = 0
    witnesses: int = 0
    unsequenced: int = 0
    unsigned_tail: int = 0  # sequenced entries that no signed head covers yet
    failure: str | None = None  # the first entry, head or witness that does not match
    notes: list[str] = field(default_factory=list)


class _Tree:
    """The frontier of a tree being rebuilt leaf by leaf."""

    def __init__(self) -> None:
        self.size = 0
        self.frontier: dict[merkle.Block, bytes] = {}

    def append(self, hashes: list[bytes]) -> list[tuple[int, int, bytes]]:
        made = list(merkle.new_blocks(self.size, hashes, self.frontier.__getitem__))
        known = self.frontier | {(0, self.size + i): h for i, h in enumerate(hashes)}
        known |= {(lvl, idx): h for lvl, idx, h in made}
        self.size += len(hashes)
        self.frontier = {b: known[b] for b in merkle.frontier(self.size)}
        return made

    def root(self) -> bytes:
        if not self.size:
            return merkle.EMPTY_ROOT
        return merkle.fold([self.frontier[b] for b in merkle.blocks(0, self.size)])


def _signature_ok(head: dict[str, Any], keys: dict[str, bytes]) -> bool:
    public = keys.get(str(head.get("key_id")))
    if public is None:
        return False
    try:
        message = heads.signed_message(head["tree_size"], head["root_hash"], head["timestamp"])
        Ed25519PublicKey.from_public_bytes(public).verify(
            base64.b64decode(head["signature"]), message
        )
    except Exception:
        return False
    return True


def _leaf_problem(entry: AuditEntry, leaf_hash: str) -> str | None:
    recomputed = leaf.leaf_bytes(**leaf.entry_fields(entry))
    if recomputed != bytes(entry.leaf):
        return "its fields (before, after, ...) do not match its leaf bytes"
    if hashlib.sha256(b"\x00" + recomputed).hexdigest() != leaf_hash:
        return "its leaf_hash is not the hash of its leaf bytes"
    return None


async def _check_nodes(session: AsyncSession, made: list[tuple[int, int, bytes]]) -> str | None:
    if not made:
        return None
    stored = {
        (lvl, idx): h
        for lvl, idx, h in await session.execute(
            select(TreeNode.level, TreeNode.index, TreeNode.hash).where(
                tuple_(TreeNode.level, TreeNode.index).in_([(lvl, idx) for lvl, idx, _ in made])
            )
        )
    }
    for lvl, idx, h in made:
        if stored.get((lvl, idx)) != h.hex():
            first, last = idx * 2**lvl + 1, (idx + 1) * 2**lvl  # seq = leaf index + 1
            return (
                f"entries seq {first}–{last}: the stored subtree hash (level {lvl}, "
                f"index {idx}) does not match their leaves (reordered or rewritten)"
            )
    return None


async def leaf_count(session: AsyncSession) -> int:
    """How many leaves `verify` reads (the total of a progress bar)."""
    return int(await session.scalar(select(func.count()).select_from(LogLeaf)) or 0)


async def verify(session: AsyncSession, advance: Advance | None = None) -> Report:
    """Check everything; `report.failure` names the first mismatch (None: intact);
    `advance(n)` after each batch of n leaves."""
    report = Report()
    keys = {
        k.key_id: base64.b64decode(k.public_key) for k in await session.scalars(select(SigningKey))
    }
    stored_heads = list(await session.scalars(select(TreeHead).order_by(TreeHead.tree_size)))
    publications = list(
        await session.scalars(
            select(ListPublication).order_by(ListPublication.published_at, ListPublication.kind)
        )
    )
    witnesses = [p for p in publications if p.audit_tree_head is not None]
    checkpoints = {h.tree_size for h in stored_heads}
    checkpoints |= {int(p.audit_tree_head["tree_size"]) for p in witnesses if p.audit_tree_head}
    roots: dict[int, bytes] = {}
    tree = _Tree()
    if 0 in checkpoints:
        roots[0] = tree.root()
    failure = None
    while failure is None:
        rows = (
            await session.execute(
                select(LogLeaf.seq, LogLeaf.leaf_hash, AuditEntry)
                .join(AuditEntry, AuditEntry.id == LogLeaf.entry_id)
                .where(LogLeaf.seq > tree.size)
                .order_by(LogLeaf.seq)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            break
        hashes: list[bytes] = []
        for seq, leaf_hash, entry in rows:
            expected = tree.size + len(hashes) + 1
            if seq != expected:
                failure = f"entry seq {expected} is missing from the log (next is {seq})"
                break
            problem = _leaf_problem(entry, leaf_hash)
            if problem:
                failure = f"entry seq {seq} (id {entry.id}, {entry.action}): {problem}"
                break
            hashes.append(bytes.fromhex(leaf_hash))
        for h in hashes:  # one by one, to take the roots at the checkpoints
            made = tree.append([h])
            if tree.size in checkpoints:
                roots[tree.size] = tree.root()
            problem = await _check_nodes(session, made)
            if problem and failure is None:
                failure = problem
                break
        report.leaves = tree.size
        if advance is not None:
            advance(len(rows))
        session.expunge_all()
    report.unsequenced = int(
        await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(~select(LogLeaf.seq).where(LogLeaf.entry_id == AuditEntry.id).exists())
        )
        or 0
    )
    if failure is None:
        failure = _check_heads(stored_heads, roots, keys, tree.size, report)
    if failure is None:
        failure = await _check_witnesses(session, publications, roots, keys, report)
    covered = max((h.tree_size for h in stored_heads), default=0)
    report.unsigned_tail = max(0, tree.size - covered)
    report.failure = failure
    return report


def _check_heads(
    stored: list[TreeHead], roots: dict[int, bytes], keys: dict[str, bytes], size: int, r: Report
) -> str | None:
    for head in stored:
        as_json = heads.head_json(head)
        if head.tree_size > size:
            return (
                f"tree head of size {head.tree_size}: the log has only {size} sequenced "
                "entries (entries were removed)"
            )
        if roots.get(head.tree_size, b"").hex() != head.root_hash:
            return f"tree head of size {head.tree_size}: its root_hash does not match the log"
        if not _signature_ok(as_json, keys):
            return f"tree head of size {head.tree_size}: its signature does not verify"
        r.heads += 1
    return None


async def _check_witnesses(
    session: AsyncSession,
    publications: list[ListPublication],
    roots: dict[int, bytes],
    keys: dict[str, bytes],
    r: Report,
) -> str | None:
    links, broken = await verify_chain(session)
    if broken is not None:
        return f"turn-1 chain entry {broken.seq}: {broken.reason}"
    for p in publications:
        name = f"publication {p.kind}/{p.number}"
        head = p.audit_tree_head
        if head is not None:
            size = int(head["tree_size"])
            if size not in roots:
                return f"{name}: its witness covers {size} entries; the log is shorter"
            if roots[size].hex() != head["root_hash"]:
                return f"{name}: its witness root_hash does not match the log"
            if (p.audit_seq, p.audit_hash) != (size, head["root_hash"]):
                return f"{name}: audit_seq/audit_hash differ from its tree head"
            if not _signature_ok(head, keys):
                return f"{name}: its witness signature does not verify"
        else:  # before the Merkle log: a link of the turn-1 hash chain
            expected = chain.GENESIS if p.audit_seq == 0 else links.get(p.audit_seq)
            if expected != p.audit_hash:
                return f"{name}: its witness (chain link {p.audit_seq}) does not match the chain"
        r.witnesses += 1
    return None
