from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_key, make_organization


@pytest.fixture
async def uscc(session: AsyncSession) -> str:
    """An organization (with a legal representative: private data that must never show)."""
    return await make_organization(session, legal_representative="李秘密")


@pytest.fixture
async def enterprise(session: AsyncSession, uscc: str) -> dict[str, str]:
    """A key of that organization."""
    return await make_key(session, "enterprise", uscc)
