"""Factories: plain async functions making valid data (STYLE 15)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.apikeys import service as key_service
from app.core.principal import SYSTEM, Role
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationWrite

_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def random_uscc(region: str = "110105", rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = "".join(rng.choice(_ORG_ALPHABET) for _ in range(8))
    return codes.make_uscc("9", "1", region, body)


async def make_organization(
    session: AsyncSession,
    *,
    uscc: str | None = None,
    name: str | None = None,
    legal_representative: str | None = "张三",
    region_code: str | None = None,
    status: str = "active",
) -> str:
    uscc = uscc or random_uscc()
    data = OrganizationWrite(
        name=name or f"测试{uuid.uuid4().hex[:6]}有限公司",
        address="北京市海淀区1号",
        legal_representative=legal_representative,
        region_code=region_code,
        status=status,
    )
    await organization_service.upsert(session, SYSTEM, uscc, data)
    await session.commit()  # releases the savepoint: a failing request won't undo it
    return uscc


async def make_key(
    session: AsyncSession, role: str, uscc: str | None = None, *, official: str | None = None
) -> dict[str, str]:
    """Authorization headers for a new key of the role (a regulator's may name its official)."""
    created = await key_service.create_key(
        session, SYSTEM, name=f"test {role}", role=Role(role), uscc=uscc, official=official
    )
    await session.commit()
    return {"Authorization": f"Bearer {created.secret}"}


async def committed_key(engine: AsyncEngine, role: str, uscc: str | None = None) -> dict[str, str]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        headers = await make_key(session, role, uscc)
        await session.commit()
    return headers


async def committed_organization(engine: AsyncEngine, **kwargs: Any) -> str:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        uscc = await make_organization(session, **kwargs)
        await session.commit()
    return uscc


async def committed_regulator_and_two(engine: AsyncEngine) -> tuple[dict[str, str], str, str]:
    """A committed regulator key, a busy organization and another (contention tests)."""
    regulator = await committed_key(engine, "regulator")
    return regulator, await committed_organization(engine), await committed_organization(engine)
