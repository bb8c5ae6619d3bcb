"""Server-side console sessions (SPEC §10).

A key is exchanged once, at login, for a random 128-bit session id; the key is
never stored in the session or the browser. Each request checks, on the primary,
that the session is neither ended, idle for 30 minutes nor 8 hours old, and that
its key is still live — so a revoked key's session stops at its next request,
within the second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.console.models import ConsoleSession
from app.core.database import db_now
from app.core.principal import Principal, Role

COOKIE = "__Host-qcr_console"
CSRF_COOKIE = "__Host-qcr_console_csrf"  # the login form's double-submit token
IDLE = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=8)
CONSOLE_ROLES = (Role.admin.value, Role.regulator.value)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Live:
    principal: Principal
    csrf: str
    id_hash: str


async def open_session(session: AsyncSession, principal: Principal) -> tuple[str, str]:
    """A new session for a regulator key: (cookie value, CSRF token)."""
    assert principal.key_id is not None
    raw, csrf = secrets.token_hex(16), secrets.token_urlsafe(32)  # 128 random bits
    now = await db_now(session)
    session.add(
        ConsoleSession(
            id_hash=_digest(raw),
            key_id=principal.key_id,
            csrf=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()
    return raw, csrf


async def current(session: AsyncSession, raw: str | None) -> Live | None:
    """The live session of a cookie (touching it), or None."""
    if not raw or len(raw) != 32:
        return None
    now = await db_now(session)
    row = (
        await session.execute(
            select(ConsoleSession, ApiKey.role)
            .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
            .where(
                ConsoleSession.id_hash == _digest(raw),
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.last_seen_at > now - IDLE,
                ConsoleSession.created_at > now - LIFETIME,
                ApiKey.revoked_at.is_(None),
                ApiKey.role.in_(CONSOLE_ROLES),
            )
        )
    ).first()
    if row is None:
        return None
    console, role = row
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id_hash == console.id_hash)
        .values(last_seen_at=now)
    )
    return Live(Principal(Role(role), key_id=console.key_id), console.csrf, console.id_hash)


async def end(session: AsyncSession, live: Live) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id_hash == live.id_hash)
        .values(ended_at=await db_now(session))
    )


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
