"""The Merkle tree of RFC 9162 §2.1, as pure functions over ranges of leaves.

Hashes: leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ left ‖ right). A
tree over n leaves splits at k, the largest power of two smaller than n.
Every subtree a root or proof needs is a range [start, end) whose start is a
multiple of the largest power of two ≤ its size; such a range is a right fold
over O(log n) *complete aligned blocks* (level, index) = leaves
[index·2^level, (index+1)·2^level), which the store keeps (`app.journal.tree`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

Block = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def blocks(start: int, end: int) -> list[Block]:
    """The complete aligned blocks of a range, largest first (RFC split order)."""
    out: list[Block] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        if size == 1 << level:
            assert start % size == 0, "a range of the RFC split is aligned"
            out.append((level, start >> level))
            return out
        k = split(size)
        lvl = k.bit_length() - 1
        assert start % k == 0, "a range of the RFC split is aligned"
        out.append((lvl, start >> lvl))
        start += k
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its blocks' hashes, largest first: a right fold."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1) as ranges, leaf-side first."""
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index - start < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1) as ranges."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")
    out: list[Range] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            break
        k = split(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, complete = start + k, m - k, False
    out.reverse()
    return out


def range_hashes(ranges: Sequence[Range], block_hash: Callable[[Block], bytes]) -> list[bytes]:
    return [fold([block_hash(b) for b in blocks(s, e)]) for s, e in ranges]


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: first_root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def new_blocks(
    size: int, leaf_hashes: Sequence[bytes], block_hash: Callable[[Block], bytes]
) -> Iterator[tuple[int, int, bytes]]:
    """Blocks of level ≥ 1 completed by appending `leaf_hashes` to a tree of `size`:
    yields (level, index, hash). `block_hash` gives existing blocks (the frontier)."""
    known: dict[Block, bytes] = {}

    def get(b: Block) -> bytes:
        return known[b] if b in known else block_hash(b)

    for offset, h in enumerate(leaf_hashes):
        i = size + offset
        known[(0, i)] = h
        level, idx, acc = 0, i, h
        while idx & 1:
            acc = node_hash(get((level, idx - 1)), acc)
            level, idx = level + 1, idx >> 1
            known[(level, idx)] = acc
            yield level, idx, acc


def frontier(size: int) -> list[Block]:
    """The blocks an append to a tree of `size` may need: the tree's own blocks."""
    return blocks(0, size) if size else []
