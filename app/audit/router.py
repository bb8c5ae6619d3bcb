"""The audit log over HTTP (SPEC §7): entries, signed tree heads, keys, proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.audit.proofs import MAX_SIZE, check_size
from app.audit.schemas import AuditEntryOut, KeysOut, TreeHeadOut
from app.auth.dependencies import Regulator
from app.core.database import DbSession, PrimaryRead, Reader
from app.core.errors import invalid
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, responses
from app.journal import heads, leaf, witness
from app.journal.models import LogLeaf, SigningKey
from app.journal.proofs import entry_json

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=AutoCommitRoute)


def _entries() -> Any:  # Select of (AuditEntry, seq, leaf_hash)
    return select(AuditEntry, LogLeaf.seq, LogLeaf.leaf_hash).outerjoin(
        LogLeaf, LogLeaf.entry_id == AuditEntry.id
    )


def entry_out(entry: AuditEntry, seq: int | None, leaf_hash: str | None) -> AuditEntryOut:
    return AuditEntryOut.model_validate(entry_json(leaf.entry_fields(entry), seq, leaf_hash))


@router.get("", responses=responses(401, 403, 422))
async def list_audit_entries(
    session: PrimaryRead,
    _: Regulator,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AuditEntryOut]:
    """The audit trail, newest first, optionally for one entity."""
    statement = _entries().order_by(AuditEntry.id.desc()).limit(limit + 1)
    if entity:
        statement = statement.where(AuditEntry.entity == entity)
    if id:
        statement = statement.where(AuditEntry.entity_id == id)
    key = decode_cursor(cursor, 1)
    if key:
        if not isinstance(key[0], int) or not 0 <= key[0] < 2**63:
            raise invalid("cursor", "is not a cursor this service issued")
        statement = statement.where(AuditEntry.id < key[0])
    rows = (await session.execute(statement)).all()
    items = [entry_out(row[0], row[1], row[2]) for row in rows[:limit]]
    next_cursor = encode_cursor([rows[limit - 1][0].id]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


async def _tree_size(session: Reader) -> int:
    return int(await session.scalar(select(LogLeaf.seq).order_by(LogLeaf.seq.desc()).limit(1)) or 0)


@router.get("/tree-head", responses=responses(422))
async def tree_head(
    session: DbSession,
    tree_size: Annotated[int | None, Query(ge=0, le=MAX_SIZE)] = None,
) -> TreeHeadOut:
    """The latest signed tree head, or the head of an earlier size (signed on first request)."""
    current = await _tree_size(session)
    size = current if tree_size is None else tree_size
    check_size("tree_size", size, current)
    head = await heads.latest(session) if tree_size is None else None
    if head is None or head.tree_size != size:
        assert witness.runtime.signer is not None, "the journal runtime is configured at start-up"
        head = await heads.sign(session, witness.runtime.signer, size)
    return TreeHeadOut.model_validate(heads.head_json(head))


@router.get("/keys")
async def signing_keys(session: PrimaryRead) -> KeysOut:
    """Every key that ever signed a tree head."""
    rows = (await session.scalars(select(SigningKey).order_by(SigningKey.first_used_at))).all()
    signer = witness.runtime.signer
    keys: list[dict[str, Any]] = [
        {"key_id": k.key_id, "algorithm": k.algorithm, "public_key": k.public_key} for k in rows
    ]
    if signer is not None and all(k["key_id"] != signer.key_id for k in keys):
        keys.append(
            {"key_id": signer.key_id, "algorithm": heads.ALGORITHM, "public_key": signer.public_b64}
        )
    return KeysOut.model_validate({"keys": keys})
