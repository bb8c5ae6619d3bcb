"""The journal's tables, all insert-only: what writers insert (audit entries,
change events) and what the elected sequencer alone adds (their order, the tree,
signed heads)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base

# The writing transaction's id: the sequencer orders and finds entries by it.
XACT_ID_DEFAULT = text("(pg_current_xact_id()::text::bigint)")


class AuditEntry(Base):
    """One write, as its transaction inserted it. Never updated: the database
    refuses UPDATE, DELETE, TRUNCATE; its `seq` lives in `audit_log`."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xact_id: Mapped[int] = mapped_column(BigInteger, server_default=XACT_ID_DEFAULT)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(Text)
    uscc: Mapped[str | None] = mapped_column(String(18))  # whose entry: outside the leaf
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)  # the bytes the leaf hash covers
    # The turn-1 hash chain, kept readable for the entries made before the tree.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entries_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_entries_xact_id", "xact_id"),
    )


class ChangeEvent(Base):
    """An event of the change feed, as its transaction inserted it. Append-only;
    its feed `seq` lives in `change_sequence` (given in commit order)."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    xact_id: Mapped[int] = mapped_column(BigInteger, server_default=XACT_ID_DEFAULT)
    type: Mapped[str] = mapped_column(String(40))
    uscc: Mapped[str] = mapped_column(String(18))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_change_events_uscc_id", "uscc", "id"),
        Index("ix_change_events_xact_id", "xact_id"),
    )


class LogLeaf(Base):
    """`(seq, entry id, leaf_hash)`: the entry's place in the Merkle tree (index seq − 1)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_entries.id"), unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    sequenced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TreeNode(Base):
    """The hash of a complete subtree: leaves [index·2^level, (index+1)·2^level),
    level ≥ 1 (level 0 is `audit_log.leaf_hash`). Stored as the tree grows, so
    any root or proof needs O(log n) rows."""

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class FeedSeq(Base):
    """`(seq, event id)`: the change feed's order, given by the sequencer."""

    __tablename__ = "change_sequence"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("change_events.id"), unique=True)


class SequencerBatch(Base):
    """One batch of the sequencer: sizes after it, and the transaction horizon
    below which every entry and event was seen (where a successor resumes)."""

    __tablename__ = "sequencer_batches"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    horizon: Mapped[int] = mapped_column(BigInteger)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    feed_size: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TreeHead(Base):
    """A signed tree head; `timestamp` is kept as the exact string that was signed."""

    __tablename__ = "audit_tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))


class SigningKey(Base):
    """Every public key that ever signed a tree head."""

    __tablename__ = "audit_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)  # raw 32 bytes, base64
    first_used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
