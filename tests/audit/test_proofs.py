"""Proofs as the hot routes serve them (app/audit/proofs.py): the one statement
finds every block of every RFC 9162 path and consistency proof of a stored
tree; the key's role, the entry's organization and the parameters are checked
as the ordinary route checked them."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core import fastpath
from app.core.principal import ANONYMOUS
from app.journal import merkle, proofs
from scripts.bench import biglog
from tests.factories import make_key, make_organization

N = 33  # one past a power of two: right edges fold blocks of several levels


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, over leaf hashes, as the RFC writes it."""
    if len(hashes) == 1:
        return []
    k = merkle.split(len(hashes))
    if m < k:
        return [*path(m, hashes[:k]), biglog.root_of(hashes[k:])]
    return [*path(m - k, hashes[k:]), biglog.root_of(hashes[:k])]


def subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, over leaf hashes."""
    n = len(hashes)
    if m == n:
        return [] if complete else [biglog.root_of(hashes)]
    k = merkle.split(n)
    if m <= k:
        return [*subproof(m, hashes[:k], complete), biglog.root_of(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), biglog.root_of(hashes[:k])]


async def test_the_statements_find_every_block_of_every_proof(session: AsyncSession) -> None:
    await biglog.build_log(await session.connection(), N)
    driver = await fastpath.driver(session)
    current = await proofs.inclusion(driver, 1, None)
    assert (current["current"], current["n"]) == (N, N)  # the default size: the current one
    hashes: list[bytes] = []
    for seq in range(1, N + 1):
        row = await proofs.inclusion(driver, seq, N)
        hashes.append(bytes.fromhex(row["leaf_hash"]))
        assert row["entity"] == "bench"
    for n in range(1, N + 1):
        for m in range(n):
            row = await proofs.inclusion(driver, m + 1, n)
            served = proofs.folded(row, merkle.inclusion_ranges(m, n))
            assert served == [h.hex() for h in path(m, hashes[:n])], (m, n)
            consistency = await proofs.consistency(driver, m + 1, n)
            served = proofs.folded(consistency, merkle.consistency_ranges(m + 1, n))
            assert served == [h.hex() for h in subproof(m + 1, hashes[:n], True)], (m + 1, n)


async def _sequenced(client: AsyncClient, regulator: dict[str, str], entity: str) -> int:
    trail = await client.get(f"/v1/audit?entity={entity}", headers=regulator)
    return int(trail.json()["items"][0]["seq"])


async def test_an_enterprise_reads_its_own_entries_but_not_feedback_or_complaints(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    for entity in ("feedback", "complaint"):
        await journal.record(
            session,
            ANONYMOUS,
            action=f"{entity}.create",
            entity=entity,
            entity_id=f"{entity}-1",
            uscc=uscc,
            after={"rating": "1"},
        )
    await session.commit()
    own = await make_key(session, "enterprise", uscc)
    admin = await make_key(session, "admin")
    partner = await make_key(session, "partner")
    seqs = {e: await _sequenced(client, regulator, e) for e in ("organization", "feedback")}
    seqs["complaint"] = await _sequenced(client, regulator, "complaint")

    def url(entity: str) -> str:
        return f"/v1/audit/entries/{seqs[entity]}/proof"

    expected: dict[tuple[str, str], int] = {
        ("organization", "own"): 200,
        ("feedback", "own"): 403,
        ("complaint", "own"): 403,
        ("feedback", "regulator"): 200,
        ("complaint", "admin"): 200,
        ("organization", "partner"): 403,
        ("organization", "anonymous"): 401,
    }
    callers: dict[str, dict[str, str]] = {
        "own": own,
        "regulator": regulator,
        "admin": admin,
        "partner": partner,
        "anonymous": {},
    }
    for (entity, who), status in expected.items():
        response = await client.get(url(entity), headers=callers[who])
        assert response.status_code == status, (entity, who, response.text)
        if status != 200:
            assert response.headers["content-type"] == "application/problem+json"
            assert "rating" not in response.text  # a refusal shows nothing of the entry
    served = (await client.get(url("feedback"), headers=regulator)).json()
    assert served["entry"]["entity"] == "feedback"
    assert served["entry"]["after"] == {"rating": "1"}
    assert served["entry"]["actor_key_id"] is None
    assert served["entry"]["at"].endswith("Z")


async def test_bad_parameters_are_422_naming_each_field(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    await make_organization(session)
    cases: dict[str, list[str]] = {
        "/v1/audit/entries/abc/proof": ["seq"],
        "/v1/audit/entries/0/proof?tree_size=0": ["seq", "tree_size"],
        "/v1/audit/entries/1/proof?tree_size=x": ["tree_size"],
        f"/v1/audit/entries/{2**62 + 1}/proof": ["seq"],
        "/v1/audit/consistency?first=1": ["second"],
        "/v1/audit/consistency": ["first", "second"],
        "/v1/audit/consistency?first=1.5&second=2": ["first"],
    }
    for url, fields in cases.items():
        response = await client.get(url, headers=regulator)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = response.json()
        assert [e["field"] for e in problem["errors"]] == fields, (url, problem)
    missing = (await client.get("/v1/audit/consistency?first=1")).json()
    assert missing["errors"][0]["message"] == "Field required"
    # The key's role is checked before the parameters, as a dependency would be.
    assert (await client.get("/v1/audit/entries/abc/proof")).status_code == 401
