"""Tables of the partners package (SPEC §11)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import CreatedMixin, IdMixin


class Measure(IdMixin, CreatedMixin, Base):
    """One reward or punishment of the catalogue (奖惩措施清单)."""

    __tablename__ = "measures"

    matter: Mapped[str] = mapped_column(Text)
    target_list: Mapped[str] = mapped_column(String(5))
    measure: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )

    __table_args__ = (CheckConstraint("target_list IN ('red', 'black')", name="target_list"),)


class Subscription(IdMixin, CreatedMixin, Base):
    """A partner's webhook endpoint. `created_by` is the owning API key."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    measures: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    status: Mapped[str] = mapped_column(String(10), server_default="enabled")
    # The Standard Webhooks signing secret (`whsec_…`), and the one it replaced,
    # which still signs until `previous_secret_expires_at` (24 hours).
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The first failed attempt since the last success (None while healthy).
    failing_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('enabled', 'disabled', 'deleted')", name="status"),
        Index("ix_webhook_subscriptions_created_by", "created_by"),
    )


class SubscriptionNotice(Base):
    """The subscription's own feed of what happened to it (disabled, enabled,
    secret rotated, replay requested), for its owner."""

    __tablename__ = "webhook_subscription_notices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id"), index=True
    )
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class WebhookEvent(Base):
    """A change event as partners receive it (the CloudEvent's thin `data`), stored
    once however many subscriptions it goes to. `event_id` is the journal's event;
    its feed `seq` (the CloudEvent's `sequence` and `id`) is the sequencer's,
    read from `change_sequence` when it is sent."""

    __tablename__ = "webhook_events"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("change_events.id"), primary_key=True, autoincrement=False
    )
    type: Mapped[str] = mapped_column(String(40))
    uscc: Mapped[str] = mapped_column(String(18))
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Delivery(Base):
    """The outbox: one event owed to one subscription."""

    __tablename__ = "webhook_deliveries"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_events.event_id"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        # The dispatcher's question: each organization's oldest pending event.
        Index(
            "ix_webhook_deliveries_pending",
            "subscription_id",
            "uscc",
            "event_id",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class MeasureApplication(IdMixin, CreatedMixin, Base):
    """A partner's report that it applied or lifted a measure for an organization."""

    __tablename__ = "measure_applications"

    measure_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("measures.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    event_id: Mapped[str | None] = mapped_column(String(40))
    applied_on: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(7))

    __table_args__ = (
        CheckConstraint("action IN ('applied', 'lifted')", name="action"),
        Index("ix_measure_applications_measure_id_uscc", "measure_id", "uscc"),
    )
