"""The audit log over HTTP (SPEC §7): entries, signed tree heads, keys, inclusion
and consistency proofs checked as an outsider would, with only the public key."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.journal import heads, merkle
from tests.factories import make_key, make_organization


def outsider_leaf_hash(entry: dict[str, Any]) -> bytes:
    """What anyone can compute from a served entry: SPEC §7's canonical leaf."""
    body = {k: v for k, v in entry.items() if k not in ("seq", "leaf_hash")}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(b"\x00" + raw).digest()


async def _head(client: AsyncClient, size: int | None = None) -> dict[str, Any]:
    url = "/v1/audit/tree-head" + (f"?tree_size={size}" if size is not None else "")
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_entries_heads_and_proofs_verify_with_the_published_key(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    for _ in range(5):
        await make_organization(session)
    head = await _head(client)
    assert set(head) == {"tree_size", "root_hash", "timestamp", "signature", "key_id"}
    assert head["timestamp"].endswith("Z")
    keys = (await client.get("/v1/audit/keys")).json()["keys"]
    key = next(k for k in keys if k["key_id"] == head["key_id"])
    public = base64.b64decode(key["public_key"])
    assert key["algorithm"] == "Ed25519" and len(public) == 32
    assert hashlib.sha256(public).hexdigest()[:16] == key["key_id"]
    assert heads.verify_head(head, public)
    assert not heads.verify_head(head | {"tree_size": head["tree_size"] + 1}, public)

    size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
    trail = (await client.get("/v1/audit?entity=organization", headers=regulator)).json()
    assert trail["items"], trail
    for entry in trail["items"]:
        response = await client.get(
            f"/v1/audit/entries/{entry['seq']}/proof?tree_size={size}", headers=regulator
        )
        assert response.status_code == 200, response.text
        proof = response.json()
        assert proof["entry"] == entry
        leaf = outsider_leaf_hash(proof["entry"])
        assert leaf.hex() == proof["leaf_hash"] == entry["leaf_hash"]
        path = [bytes.fromhex(p) for p in proof["audit_path"]]
        assert merkle.verify_inclusion(entry["seq"] - 1, size, leaf, path, root)

    earlier = await _head(client, 2)
    assert heads.verify_head(earlier, public)
    assert await _head(client, 2) == earlier  # signed once, then stored
    consistency = (await client.get(f"/v1/audit/consistency?first=2&second={size}")).json()
    assert merkle.verify_consistency(
        2,
        size,
        bytes.fromhex(earlier["root_hash"]),
        root,
        [bytes.fromhex(p) for p in consistency["proof"]],
    )


async def test_proof_requests_outside_the_log_are_problems(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    size = (await _head(client))["tree_size"]
    cases = {
        f"/v1/audit/entries/1/proof?tree_size={size + 1}": 422,
        f"/v1/audit/entries/{size + 1}/proof?tree_size={size}": 404,
        "/v1/audit/entries/2/proof?tree_size=1": 422,
        "/v1/audit/entries/0/proof?tree_size=1": 422,
        "/v1/audit/entries/1/proof": 422,
    }
    for url, status in cases.items():
        response = await client.get(url, headers=regulator)
        assert response.status_code == status, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/audit/tree-head?tree_size={size + 1}")).status_code == 422
    assert (await client.get(f"/v1/audit/consistency?first=1&second={size + 1}")).status_code == 422
    assert (await client.get("/v1/audit/consistency?first=3&second=2")).status_code == 422
    assert (await client.get(f"/v1/audit/entries/1/proof?tree_size={size}")).status_code == 401
    partner = await make_key(session, "partner")
    own = await make_key(session, "enterprise", uscc)
    other = await make_key(session, "enterprise", await make_organization(session))
    trail = (await client.get(f"/v1/audit?entity=organization&id={uscc}", headers=regulator)).json()
    seq = trail["items"][0]["seq"]
    size = (await _head(client))["tree_size"]
    url = f"/v1/audit/entries/{seq}/proof?tree_size={size}"
    assert (await client.get(url, headers=partner)).status_code == 403
    assert (await client.get(url, headers=other)).status_code == 403
    assert (await client.get(url, headers=own)).status_code == 200


@pytest.mark.parametrize(
    "table", ["audit_entries", "audit_log", "audit_tree_nodes", "audit_tree_heads", "change_events"]
)
@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}", "TRUNCATE {t}"]
)
async def test_the_service_role_can_only_insert_and_select_log_tables(
    client: AsyncClient,
    session: AsyncSession,
    connection: AsyncConnection,
    table: str,
    statement: str,
) -> None:
    await make_organization(session)
    await _head(client)
    column = {"audit_tree_nodes": "hash", "audit_tree_heads": "root_hash"}.get(table, "xact_id")
    if table == "audit_log":
        column = "leaf_hash"
    with pytest.raises(DBAPIError, match=r"permission denied|not allowed"):
        async with connection.begin_nested():
            await connection.execute(text(statement.format(t=table, c=column)))
