"""Signed tree heads (SPEC §7): Ed25519 over the canonical JSON of
`{"tree_size", "root_hash", "timestamp"}`; every key ever used is kept."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import onefile
from app.core.database import Reader, db_now
from app.core.settings import Settings
from app.journal import tree
from app.journal.leaf import canonical, rfc3339
from app.journal.models import SigningKey, TreeHead

KEY_FILE = "audit_signing_key"
ALGORITHM = "Ed25519"


class SigningKeyError(ValueError):
    """QCR_AUDIT_SIGNING_KEY is missing where required, or not a key."""


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    public_raw: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def key_id(public_raw: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def signer_from_seed(seed_b64: str) -> Signer:
    try:
        seed = base64.b64decode(seed_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError("QCR_AUDIT_SIGNING_KEY is not base64") from None
    if len(seed) != 32:
        raise SigningKeyError("QCR_AUDIT_SIGNING_KEY must be a 32-byte Ed25519 seed (base64)")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(private, public)


def new_seed() -> str:
    """A fresh Ed25519 private key seed, base64 (as QCR_AUDIT_SIGNING_KEY takes it)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_signer(settings: Settings) -> Signer:
    """QCR_AUDIT_SIGNING_KEY; required with DATABASE_URL (every replica must sign
    with the same key); else the data-dir file, made on first start."""
    if settings.audit_signing_key:
        return signer_from_seed(settings.audit_signing_key)
    if settings.database_url:
        raise SigningKeyError("QCR_AUDIT_SIGNING_KEY is required when DATABASE_URL is set")
    path = settings.data_dir / KEY_FILE
    # First writer wins, as for the code secret.
    onefile.ensure(path, new_seed)
    return signer_from_seed(path.read_text(encoding="ascii"))


def signed_message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    return canonical({"tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp})


def verify_head(head: dict[str, Any], public_raw: bytes) -> bool:
    """An outsider's check of a tree head against a published key."""
    message = signed_message(head["tree_size"], head["root_hash"], head["timestamp"])
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(head["signature"]), message
        )
    except Exception:
        return False
    return True


def head_json(head: TreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "signature": head.signature,
        "key_id": head.key_id,
    }


async def _remember_key(session: AsyncSession, signer: Signer) -> None:
    await session.execute(
        insert(SigningKey)
        .values(
            key_id=signer.key_id,
            algorithm=ALGORITHM,
            public_key=signer.public_b64,
            first_used_at=await db_now(session),
        )
        .on_conflict_do_nothing()
    )


async def sign(session: AsyncSession, signer: Signer, size: int) -> TreeHead:
    """The stored head of `size`, signed and stored now if there is none."""
    existing = await session.get(TreeHead, size)
    if existing is not None:
        return existing
    root_hash = (await tree.root(session, size)).hex()
    timestamp = rfc3339(await db_now(session))
    await _remember_key(session, signer)
    await session.execute(
        insert(TreeHead)
        .values(
            tree_size=size,
            root_hash=root_hash,
            timestamp=timestamp,
            signature=signer.sign(signed_message(size, root_hash, timestamp)),
            key_id=signer.key_id,
        )
        .on_conflict_do_nothing()
    )
    stored = await session.get(TreeHead, size, populate_existing=True)
    assert stored is not None
    return stored


async def latest(session: Reader) -> TreeHead | None:
    return await session.scalar(select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))
