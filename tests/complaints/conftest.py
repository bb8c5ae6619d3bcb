from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_key, make_organization


@pytest.fixture
async def uscc(session: AsyncSession) -> str:
    return await make_organization(session, region_code="330106")


@pytest.fixture
async def enterprise(session: AsyncSession, uscc: str) -> dict[str, str]:
    return await make_key(session, "enterprise", uscc)
