"""Column helpers shared by the domain models."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import DateTime, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )


class CreatedMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The API key that recorded the row (None: the CLI or demo loader).
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


# 122 random bits from the server's CSPRNG: the salt of a row's private fields.
RANDOM_SALT = text("decode(replace(gen_random_uuid()::text, '-', ''), 'hex')")


def fields(row: object, names: Iterable[str]) -> dict[str, Any]:
    """A row's values by name: what its audit entry keeps, or a response is made of."""
    return {name: getattr(row, name) for name in names}
