"""API keys: created with a secret shown once, stored hashed, revocable; both audited."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.auth.models import ApiKey
from app.auth.service import hash_secret
from app.core.database import db_now
from app.core.errors import NotFound, invalid
from app.core.notify import notify
from app.core.principal import Principal, Role

KEY_PREFIX = "qcr_"


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def created_view(key: ApiKey) -> dict[str, Any]:
    """What the audit log keeps of a new key: never its hash."""
    named = {"official": key.official} if key.official else {}
    return {"name": key.name, "role": key.role, "uscc": key.uscc, "prefix": key.prefix} | named


def revoked_view(key: ApiKey) -> dict[str, Any]:
    return {"revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}


CREATED = journal.Audited("api_key", created_view)
REVOKED = journal.Audited("api_key", revoked_view)


async def create_key(
    session: AsyncSession,
    actor: Principal,
    *,
    name: str,
    role: Role,
    uscc: str | None,
    official: str | None = None,
) -> CreatedKey:
    """Create a key; the secret is returned here and never again."""
    if role is Role.anonymous:
        raise invalid("role", "must be admin, regulator, partner or enterprise")
    if role is Role.enterprise and not uscc:
        raise invalid("uscc", "is required for an enterprise key")
    if role is not Role.enterprise and uscc:
        raise invalid("uscc", "only enterprise keys are bound to an organization")
    if not name.strip() or len(name) > 200:
        raise invalid("name", "must be 1-200 characters")
    if official is not None:
        if role is not Role.regulator:
            raise invalid("official", "only regulator keys name an official")
        official = official.strip()
        if not official or len(official) > 100:
            raise invalid("official", "must be 1-100 characters")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        role=role.value,
        uscc=uscc,
        prefix=secret[:12],
        key_hash=hash_secret(secret),
        created_by=actor.key_id,
        official=official,
    )
    return CreatedKey(await CREATED.save(session, actor, key, "apikey.create"), secret)


def parse_key_reference(reference: str) -> uuid.UUID | str:
    """A key named by its id (a UUID) or by its secret (`qcr_…`)."""
    reference = reference.strip()
    try:
        return uuid.UUID(reference)
    except ValueError:
        return reference


async def revoke_key(session: AsyncSession, actor: Principal, reference: uuid.UUID | str) -> ApiKey:
    """Revoke a key given its id or its secret; every process refuses it within 1 s
    of the commit (app/auth/keys.py)."""
    if isinstance(reference, uuid.UUID):
        key = await session.get(ApiKey, reference, with_for_update=True)
        named = str(reference)
    else:
        key = await session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_secret(reference)).with_for_update()
        )
        named = "with that secret"
    if key is None:
        raise NotFound(f"no API key {named}")
    if key.revoked_at is None:
        key.revoked_at = await db_now(session)
        await session.flush()
        await notify(session, "apikey", str(key.id))
        await REVOKED.save(session, actor, key, "apikey.revoke", before={"revoked_at": None})
    return key
