"""Who is calling: an API key's secret looked up by its hash."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.core.principal import Principal, Role


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


KEY_SQL = "SELECT id, role, uscc FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"


async def authenticate_fast(pool: Any, secret: str) -> Principal | None:
    """The same lookup on the hot paths' asyncpg pool (one prepared statement)."""
    row = await pool.fetchrow(KEY_SQL, hash_secret(secret))
    if row is None:
        return None
    return Principal(Role(row["role"]), key_id=row["id"], uscc=row["uscc"])


async def authenticate(session: AsyncSession, secret: str) -> Principal | None:
    """The principal of a live key, or None for an unknown or revoked one."""
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.uscc).where(
                ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return Principal(Role(row.role), key_id=row.id, uscc=row.uscc)
