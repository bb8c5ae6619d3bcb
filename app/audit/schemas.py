from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    """An entry as SPEC §7 shapes it; `seq` and `leaf_hash` are null until sequenced."""

    seq: int | None
    leaf_hash: str | None
    at: str = Field(
        description="RFC 3339 UTC with Z and six fraction digits: as in the leaf bytes",
        examples=["2026-11-30T12:00:00.123456Z"],
    )
    actor_key_id: uuid.UUID | None
    actor_role: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


_HEX = "0" * 64


class TreeHeadOut(BaseModel):
    tree_size: int = Field(examples=[1024])
    root_hash: str = Field(description="lowercase hex", examples=[_HEX])
    timestamp: str = Field(description="RFC 3339 UTC", examples=["2026-11-30T12:00:00.000000Z"])
    signature: str = Field(
        description="base64 Ed25519 over the canonical JSON of tree_size, root_hash, timestamp"
    )
    key_id: str = Field(examples=["0123456789abcdef"])


class KeyOut(BaseModel):
    key_id: str
    algorithm: str = Field(examples=["Ed25519"])
    public_key: str = Field(description="the raw 32-byte key, base64")


class KeysOut(BaseModel):
    keys: list[KeyOut]


class InclusionProofOut(BaseModel):
    seq: int
    tree_size: int
    leaf_hash: str
    entry: AuditEntryOut
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 inclusion path, hex")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, hex")
