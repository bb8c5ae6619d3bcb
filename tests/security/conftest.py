"""Fixtures of the security tests: a seeded world, rolled back or committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.database import Database
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import DatabaseUnderTest
from tests.factories import committed_key, make_key
from tests.security.dataset import Dataset, seed
from tests.security.helpers import empty_all_tables

# Anonymous limits out of the way: these tests send hundreds of anonymous
# requests from one client; the limits have their own tests (API4).
UNLIMITED = {
    "rate_limit_public": "1000000/minute",
    "rate_limit_resolver": "1000000/minute",
    "rate_limit_feedback": "1000000/minute",
}


@pytest.fixture
async def world(client: AsyncClient, session: AsyncSession, app: FastAPI) -> Dataset:
    """The dataset inside the test's rolled-back transaction."""
    app.state.settings = app.state.settings.model_copy(update=UNLIMITED)

    async def key(role: str, uscc: str | None) -> dict[str, str]:
        return await make_key(session, role, uscc)

    return await seed(client, key)


@dataclass
class CommittedWorld:
    client: AsyncClient
    app: FastAPI
    dataset: Dataset
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def committed_world(
    test_database: DatabaseUnderTest, engine: AsyncEngine, test_settings: Settings
) -> AsyncIterator[CommittedWorld]:
    """The dataset committed for real, shared by a module's tests (for checks that
    need a second connection: row counts, schemathesis's own event loop); every
    table is emptied afterwards."""
    app = create_app(test_settings.model_copy(update=UNLIMITED), database=Database(engine))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:

        async def key(role: str, uscc: str | None) -> dict[str, str]:
            return await committed_key(engine, role, uscc)

        try:
            dataset = await seed(client, key)
            yield CommittedWorld(client, app, dataset, engine)
        finally:
            await empty_all_tables(test_database.owner_url)


@pytest.fixture
def shared_world(committed_world: CommittedWorld) -> Dataset:
    """The module's committed dataset (for tests that only read, or whose writes
    are refused: seeding once per module instead of once per test)."""
    return committed_world.dataset


@pytest.fixture
def shared_client(committed_world: CommittedWorld) -> AsyncClient:
    return committed_world.client
