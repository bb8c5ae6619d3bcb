"""A request that fails after its writes were flushed leaves nothing behind, through
the real request-scoped session dependency (`get_session`, not the tests' override)
and the route class that commits: the organization, its audit entry, its change
event, its credit status and its idempotency key all go, whatever the failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.database import Database
from app.core.errors import Conflict
from app.core.settings import Settings
from app.main import create_app
from app.organizations import service as organization_service
from tests.conftest import DatabaseUnderTest
from tests.factories import committed_key, random_uscc
from tests.security.helpers import empty_all_tables
from tests.snapshot import assert_unchanged, snapshot


class Boom(RuntimeError):
    pass


@pytest.fixture
async def real_app(
    engine: AsyncEngine, test_database: DatabaseUnderTest, test_settings: Settings
) -> AsyncIterator[FastAPI]:
    """The app with its own session dependency; every table emptied afterwards."""
    try:
        yield create_app(test_settings, database=Database(engine))
    finally:
        await empty_all_tables(test_database.owner_url)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(Boom("after the flush"), id="an unexpected exception (500)"),
        pytest.param(Conflict("refused late"), id="a refusal (409)"),
    ],
)
async def test_a_failure_after_the_flush_changes_nothing(
    real_app: FastAPI,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    regulator = await committed_key(engine, "regulator")
    flushed: list[int] = []
    real_upsert = organization_service.upsert

    async def upsert_then_fail(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        await real_upsert(session, *args, **kwargs)
        await session.flush()
        # The rows are in the database, inside the request's transaction.
        flushed.append(int(await session.scalar(text("SELECT count(*) FROM organizations")) or 0))
        raise failure

    monkeypatch.setattr(organization_service, "upsert", upsert_then_fail)
    async with engine.connect() as observer:
        before = await snapshot(observer)
        await observer.commit()
        transport = ASGITransport(app=real_app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.put(
                f"/v1/organizations/{random_uscc()}",
                json={
                    "name": "回滚测试有限公司",
                    "address": "北京市1号",
                    "legal_representative": "李四",
                },
                headers=regulator | {"Idempotency-Key": "rollback-1"},
            )
        assert response.status_code == (500 if isinstance(failure, Boom) else 409)
        assert flushed and flushed[0] >= 1, "the write never reached the database"
        await assert_unchanged(observer, before, "a request that failed after its flush")
