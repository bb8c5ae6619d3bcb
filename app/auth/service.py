"""Who is calling: an API key's secret looked up by its hash."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.core.database import Reader
from app.core.principal import Principal, Role


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


KEY_SQL = "SELECT id, role, uscc, official FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"


async def key_row(session: Reader, digest: str) -> dict[str, Any] | None:
    """`KEY_SQL` on a session: the id, role and USCC of a live key, by its digest."""
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.uscc, ApiKey.official).where(
                ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return {"id": row.id, "role": row.role, "uscc": row.uscc, "official": row.official}


async def authenticate(session: AsyncSession, secret: str) -> Principal | None:
    """The principal of a live key read on this session (the console's login,
    against the primary), or None for an unknown or revoked one."""
    row = await key_row(session, hash_secret(secret))
    if row is None:
        return None
    return Principal(
        Role(row["role"]), key_id=row["id"], uscc=row["uscc"], official=row["official"]
    )
