"""Red and black list publications and their entries (SPEC §5 "Publications").

Both tables are append-only: the database refuses UPDATE, DELETE and TRUNCATE
(triggers, and the service role lacks the privileges), so a publication is
immutable once its transaction commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class ListPublication(Base):
    """One numbered publication of the red or the black list."""

    __tablename__ = "list_publications"

    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    as_of: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    entry_count: Mapped[int] = mapped_column(Integer)
    # SHA-256 (hex) of the entries' canonical lines, each ending in "\n".
    sha256: Mapped[str] = mapped_column(String(64))
    # The witness kept outside the log (SPEC §7): the signed tree head covering
    # every write committed before the publication; `audit_seq` is its tree size
    # and `audit_hash` its root. Publications made before the Merkle log (turn 1)
    # have no tree head: their `audit_seq`/`audit_hash` name a link of the old
    # hash chain, which stays verifiable (`qcr audit verify`).
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    audit_hash: Mapped[str] = mapped_column(String(64))
    audit_tree_head: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    policy_version: Mapped[str] = mapped_column(String(8))
    published_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: the CLI

    __table_args__ = (
        CheckConstraint("kind IN ('red', 'black')", name="kind"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("entry_count >= 0", name="entry_count"),
    )


class ListEntry(Base):
    """One entry of a publication, stored as the exact canonical JSON line that
    the publication's hash covers (so a download is byte-for-byte what was hashed)."""

    __tablename__ = "list_entries"

    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # 1, 2, … in uscc order (byte order, as Python sorts strings).
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        # The entries are written before their publication row (whose hash covers
        # them), so the reference is checked at commit.
        ForeignKeyConstraint(
            ["kind", "number"],
            ["list_publications.kind", "list_publications.number"],
            deferrable=True,
            initially="DEFERRED",
        ),
        Index("ix_list_entries_kind_number_uscc", "kind", "number", "uscc"),
    )
