"""Contention is never an error (SPEC §8): no global lock on the write path, a
deadlock or serialisation failure is retried, a lock or statement timeout is a
503 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, Depends, FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import errors
from app.core.principal import SYSTEM
from app.core.routing import AutoCommitRoute
from app.records import service as records_service
from app.records.kinds import VIOLATION
from app.records.schemas import ViolationCreate
from tests.factories import committed_regulator_and_two
from tests.records.helpers import grade, violation


async def test_an_open_write_blocks_no_other_organization(
    engine: AsyncEngine, committed_client: AsyncClient
) -> None:
    regulator, busy, other = await committed_regulator_and_two(engine)
    async with AsyncSession(engine, expire_on_commit=False) as long_writer:
        from app.organizations import service as organization_service

        org = await organization_service.find(long_writer, busy)
        for _ in range(3):  # an import's first rows, not committed yet
            await records_service.create(
                long_writer, SYSTEM, VIOLATION, org, ViolationCreate.model_validate(violation())
            )
        # Answered while the long writer is still open: had the write waited for it,
        # it would have waited for good, and failed at lock_timeout (5 s), not 201.
        # No clock needed (no wall-clock assertion).
        response = await committed_client.post(
            f"/v1/organizations/{other}/grades", json=grade(), headers=regulator
        )
        assert response.status_code == 201, response.text
        await long_writer.commit()


def _app(engine: AsyncEngine, failures: dict[str, int], state: str) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    router = APIRouter(route_class=AutoCommitRoute)

    async def session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as s:
            yield s

    @router.post("/write")
    async def write(db: AsyncSession = Depends(session)) -> dict[str, int]:
        failures["calls"] += 1
        if failures["left"] > 0:
            failures["left"] -= 1
            await db.execute(
                text(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{state}'; END $$")
            )
        return {"calls": failures["calls"]}

    app.include_router(router)
    return app


@pytest.mark.parametrize("state", ["40P01", "40001"])
async def test_a_deadlock_or_serialisation_failure_is_retried(
    engine: AsyncEngine, state: str
) -> None:
    failures = {"calls": 0, "left": 2}
    app = _app(engine, failures, state)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/write")
    assert response.status_code == 200
    assert response.json() == {"calls": 3}


@pytest.mark.parametrize("state", ["40P01", "55P03", "57014"])
async def test_contention_that_persists_is_a_503_with_retry_after(
    engine: AsyncEngine, state: str
) -> None:
    failures = {"calls": 0, "left": 10}
    app = _app(engine, failures, state)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/write")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert failures["calls"] == (3 if state == "40P01" else 1)
