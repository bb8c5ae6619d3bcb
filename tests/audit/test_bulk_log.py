"""The proof benchmark's bulk-built log (scripts/bench/biglog.py) is the log the
service would have built: its leaves are canonical entries, its stored subtrees
give the RFC root, the sequencer appends after it, and a proof of entry 1 is
⌈log2 n⌉ hashes that verify against the signed head."""

from __future__ import annotations

import math

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal import merkle
from app.journal.models import LogLeaf
from scripts.bench import biglog
from tests.audit.test_log import outsider_leaf_hash
from tests.factories import make_organization

N = 1025  # not a power of two: the root folds stored blocks of several levels


async def test_a_bulk_built_log_serves_short_proofs_that_verify(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    await biglog.build_log(await session.connection(), N)
    await make_organization(session)  # a write after it: sequenced as N + 1 (and more)
    head = (await client.get("/v1/audit/tree-head")).json()
    size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
    assert size > N

    hashes = [
        bytes.fromhex(h)
        for h in await session.scalars(select(LogLeaf.leaf_hash).order_by(LogLeaf.seq))
    ]
    assert len(hashes) == size
    assert biglog.root_of(hashes) == root  # stored subtrees agree with the RFC's MTH

    response = await client.get(f"/v1/audit/entries/1/proof?tree_size={size}", headers=regulator)
    assert response.status_code == 200, response.text
    proof = response.json()
    assert proof["entry"]["action"] == biglog.ACTION
    assert outsider_leaf_hash(proof["entry"]).hex() == proof["leaf_hash"]  # canonical leaf
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert len(path) == math.ceil(math.log2(size))
    assert merkle.verify_inclusion(0, size, bytes.fromhex(proof["leaf_hash"]), path, root)

    # In the tree of exactly N = 1,025 leaves: ⌈log2 1025⌉ = 11 hashes, against its own head.
    at_n = await client.get(f"/v1/audit/entries/1/proof?tree_size={N}", headers=regulator)
    assert at_n.status_code == 200, at_n.text
    path = [bytes.fromhex(h) for h in at_n.json()["audit_path"]]
    assert len(path) == math.ceil(math.log2(N)) == 11
    root_n = bytes.fromhex(
        (await client.get(f"/v1/audit/tree-head?tree_size={N}")).json()["root_hash"]
    )
    assert root_n == biglog.root_of(hashes[:N])
    assert merkle.verify_inclusion(0, N, bytes.fromhex(proof["leaf_hash"]), path, root_n)

    last = await client.get(f"/v1/audit/entries/{size}/proof", headers=regulator)
    assert last.status_code == 200, last.text
    assert last.json()["entry"]["action"] != biglog.ACTION  # the write, appended after


async def test_a_proof_of_entry_1_among_a_million_is_at_most_20_hashes() -> None:
    # By construction: one hash per level of the RFC split, ⌈log2 n⌉ of them.
    for size in (2, 3, 1000, 1024, 1025, 999_999, 1_000_000):
        assert len(merkle.inclusion_ranges(0, size)) == math.ceil(math.log2(size))
    assert math.ceil(math.log2(1_000_000)) == 20
