"""RFC 9162 §2.1 hashes and proofs, against a naive recursive implementation of
the RFC's own definitions and the RFC 6962 test vectors (as used by Certificate
Transparency's and Trillian's test suites)."""

from __future__ import annotations

import hashlib

import pytest

from app.journal import merkle

# The eight leaves of the RFC 6962 test tree and its roots at sizes 1-8.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Inclusion path of leaf 0 in the tree of 8 (RFC 6962 test vectors).
PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]


# --- the RFC's definitions, written as plainly as possible ---------------------


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


# ------------------------------------------------------------------------------


def leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def block_hasher(d: list[bytes]):  # type: ignore[no-untyped-def]
    def block_hash(block: merkle.Block) -> bytes:
        level, index = block
        return mth(d[index << level : (index + 1) << level])

    return block_hash


def test_rfc6962_vectors() -> None:
    for size, root in enumerate(ROOTS, start=1):
        assert mth(LEAVES[:size]).hex() == root
        hashes = merkle.range_hashes([(0, size)], block_hasher(LEAVES))
        assert hashes[0].hex() == root
    proof = merkle.range_hashes(merkle.inclusion_ranges(0, 8), block_hasher(LEAVES))
    assert [p.hex() for p in proof] == PATH_0_8
    assert merkle.EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"x") == h(b"\x00x")
    assert merkle.node_hash(b"a", b"b") == h(b"\x01ab")


@pytest.mark.parametrize("n", [*range(1, 34), 64, 65, 100])
def test_inclusion_proofs_match_the_rfc_and_verify(n: int) -> None:
    d = leaves(n)
    root = mth(d)
    for m in range(n):
        proof = merkle.range_hashes(merkle.inclusion_ranges(m, n), block_hasher(d))
        assert proof == path(m, d)
        leaf = merkle.leaf_hash(d[m])
        assert merkle.verify_inclusion(m, n, leaf, proof, root)
        assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(b"other"), proof, root)
        if proof:
            assert not merkle.verify_inclusion(m, n, leaf, proof[:-1], root)
    assert not merkle.verify_inclusion(n, n, merkle.leaf_hash(d[0]), [], root)


@pytest.mark.parametrize("n", [*range(1, 34), 64, 65])
def test_consistency_proofs_match_the_rfc_and_verify(n: int) -> None:
    d = leaves(n)
    second = mth(d)
    for m in range(1, n + 1):
        proof = merkle.range_hashes(merkle.consistency_ranges(m, n), block_hasher(d))
        assert proof == subproof(m, d, True)
        first = mth(d[:m])
        assert merkle.verify_consistency(m, n, first, second, proof)
        if m < n:
            assert not merkle.verify_consistency(m, n, mth(leaves(m + 1)[1:]), second, proof)


def test_appending_completes_exactly_the_rfc_subtrees() -> None:
    d = leaves(77)
    stored: dict[merkle.Block, bytes] = {}
    size = 0
    for chunk in (1, 2, 5, 8, 13, 48):
        hashes = [merkle.leaf_hash(x) for x in d[size : size + chunk]]
        for i, lh in enumerate(hashes):
            stored[(0, size + i)] = lh
        for level, index, node in merkle.new_blocks(size, hashes, stored.__getitem__):
            assert node == mth(d[index << level : (index + 1) << level])
            stored[(level, index)] = node
        size += chunk
        assert merkle.range_hashes([(0, size)], stored.__getitem__)[0] == mth(d[:size])


def test_a_proof_in_a_million_leaves_is_logarithmic() -> None:
    n = 1_000_000
    ranges = merkle.inclusion_ranges(0, n)
    assert len(ranges) == 20  # ⌈log2 n⌉ hashes
    blocks = {b for s, e in ranges for b in merkle.blocks(s, e)}
    assert len(blocks) <= 2 * 20  # stored blocks read to make them
    consistency = merkle.consistency_ranges(1, n)
    assert len({b for s, e in consistency for b in merkle.blocks(s, e)}) <= 2 * 20
