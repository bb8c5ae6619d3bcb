"""Who is calling: an API key's secret looked up by its hash."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


KEY_SQL = "SELECT id, role, uscc FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"


async def key_row(session: AsyncSession, digest: str) -> dict[str, Any] | None:
    """`KEY_SQL` on a session: the id, role and USCC of a live key, by its digest."""
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.uscc).where(
                ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else {"id": row.id, "role": row.role, "uscc": row.uscc}
