from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.models import RANDOM_SALT, CreatedMixin, IdMixin


class Organization(IdMixin, CreatedMixin, Base):
    __tablename__ = "organizations"

    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    org_code: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(String(6))
    industry_code: Mapped[str | None] = mapped_column(String(5))
    legal_representative: Mapped[str | None] = mapped_column(Text)  # personal data
    # Private fields enter the audit log only as SHA-256(salt ‖ value) (SPEC §7).
    private_salt: Mapped[bytes] = mapped_column(LargeBinary, server_default=RANDOM_SALT)
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("status IN ('active', 'deregistered')", name="status"),
        # Chinese names have no word boundaries: a GIN index over the name's
        # characters and character pairs answers any substring of one or more
        # characters (pg_trgm needs three and a word-character locale).
        Index(
            "ix_organizations_name_ngrams",
            text("qcr_ngrams(name)"),
            postgresql_using="gin",
        ),
        Index(
            "ix_organizations_region_code",
            "region_code",
            postgresql_ops={"region_code": "text_pattern_ops"},
        ),
    )
