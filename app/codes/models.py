"""Products, batches, item codes, their scans, and consumer feedback (一品一码).

Item codes are the bulk of the data (up to 100,000 per call), so their rows are
narrow: a bigint identity, the batch and the serial. An issuance records which
id range one call produced; issuances of one batch never overlap because each
holds the batch row's lock. Scans and feedback are append-only logs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import CreatedMixin, IdMixin


class Product(IdMixin, CreatedMixin, Base):
    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), unique=True)  # GTIN-14
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    execution_standard: Mapped[str] = mapped_column(Text)
    factory_name: Mapped[str] = mapped_column(Text)
    factory_address: Mapped[str] = mapped_column(Text)
    # The product category of risk signals (SPEC §10); None: the producer's industry class.
    category: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (CheckConstraint("gtin ~ '^[0-9]{14}$'", name="gtin"),)


class Batch(IdMixin, CreatedMixin, Base):
    __tablename__ = "batches"

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("products.id"))
    lot: Mapped[str] = mapped_column(String(20))
    produced_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    # The batch's own test reports (出厂检验 / 第三方检验), as submitted.
    inspection_reports: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    code_count: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        UniqueConstraint("product_id", "lot", name="uq_batches_product_id_lot"),
        CheckConstraint("expires_on IS NULL OR expires_on >= produced_on", name="expires_on"),
        CheckConstraint("code_count >= 0", name="code_count"),
    )


class CodeIssuance(IdMixin, CreatedMixin, Base):
    """One `POST …/codes` call: which item-code ids (a contiguous range) it made."""

    __tablename__ = "code_issuances"

    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("batches.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)
    first_item_id: Mapped[int] = mapped_column(BigInteger)
    last_item_id: Mapped[int] = mapped_column(BigInteger)
    first_serial: Mapped[str] = mapped_column(String(20))
    last_serial: Mapped[str] = mapped_column(String(20))

    __table_args__ = (CheckConstraint("count >= 1", name="count"),)


class ItemCode(Base):
    __tablename__ = "item_codes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("batches.id"))
    serial: Mapped[str] = mapped_column(String(20))
    scan_count: Mapped[int] = mapped_column(Integer, server_default="0")
    first_scanned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("batch_id", "serial", name="uq_item_codes_batch_id_serial"),)


class ItemScan(Base):
    """One scan of an item code. Append-only; the client is a keyed hash, never an
    address. Partitioned by month of `scanned_at` (migration 0402): old months are
    detached and archived, never deleted row by row. Written in batches by
    app/codes/scans.py."""

    __tablename__ = "item_scans"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("item_codes.id"))
    client_hash: Mapped[bytes] = mapped_column(LargeBinary)  # per address (IPv4), /64 (IPv6)
    # The keyed hash of an IPv6 client's /48, what the signal series count (SPEC
    # §10); null for IPv4, where client_hash is already that (migration 0504).
    client_net: Mapped[bytes | None] = mapped_column(LargeBinary)
    agent: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_item_scans_item_id_scanned_at", "item_id", "scanned_at"),
        CheckConstraint("agent IN ('mobile', 'desktop', 'bot', 'other')", name="agent"),
        {"postgresql_partition_by": "RANGE (scanned_at)"},
    )


class ItemScanClient(Base):
    """One of the first distinct (non-bot) clients of an item code, at most
    `scans.CLIENTS_KEPT` per code: what `suspicious` counts, in bounded time."""

    __tablename__ = "item_scan_clients"

    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("item_codes.id"), primary_key=True)
    client_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    # 1, 2, … in the order kept (migration 0701): the codes with more clients than
    # a threshold t are those with a client numbered t + 1 (the signal series).
    ordinal: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (Index("ix_item_scan_clients_ordinal_item_id", "ordinal", "item_id"),)


class ScanDayCount(Base):
    """A local day's counted scans of one product category × prefecture, added to by
    each batch of the scan writer (app/codes/daycounts.py): what the signal series read."""

    __tablename__ = "scan_day_counts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(4), primary_key=True)
    clients: Mapped[int] = mapped_column(Integer)  # distinct: per IPv4 address or IPv6 /48
    scans: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[str]] = mapped_column(ARRAY(Text))  # the smallest ids, as text


class ScanDayClient(Base):
    """A client already counted in its day's `ScanDayCount` (so a later batch does
    not count it again); written in SQL by app/codes/daycounts.py, never read at night."""

    __tablename__ = "scan_day_clients"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(4), primary_key=True)
    client: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)


class ScanCounters(Base):
    """One row: the instant from which every scan written is in the day counters
    (migration 0701); days that began before it are counted from the scans."""

    __tablename__ = "scan_counters"

    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)


class Feedback(IdMixin, Base):
    """A consumer's rating, comment or complaint about a product. Append-only."""

    __tablename__ = "feedback"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organizations.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("products.id"), index=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("batches.id"))
    item_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("item_codes.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[bool] = mapped_column(Boolean)
    contact: Mapped[str | None] = mapped_column(Text)  # private: regulators only
    client_hash: Mapped[bytes] = mapped_column(LargeBinary)
    client_net: Mapped[bytes | None] = mapped_column(LargeBinary)  # as ItemScan.client_net
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint("char_length(comment) <= 500", name="comment"),
        CheckConstraint("char_length(contact) <= 100", name="contact"),
        Index("ix_feedback_organization_id_created_at", "organization_id", "created_at", "id"),
    )
