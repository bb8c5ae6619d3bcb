from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import CreatedMixin, IdMixin


class ApiKey(IdMixin, CreatedMixin, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    uscc: Mapped[str | None] = mapped_column(String(18))
    prefix: Mapped[str] = mapped_column(String(12))
    # SHA-256 of the secret: the secret has 256 random bits, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The official behind a regulator key (SPEC §9): four eyes compares officials.
    official: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'regulator', 'partner', 'enterprise')", name="role"),
        CheckConstraint("(role = 'enterprise') = (uscc IS NOT NULL)", name="enterprise_uscc"),
        CheckConstraint("official IS NULL OR role = 'regulator'", name="official"),
    )
