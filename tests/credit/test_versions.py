"""Policy versions against the database (SPEC §4.1): published versions, the
stored v2 date, and the materialised status switching versions with no write."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import clock
from app.credit import policies
from app.credit import service as credit_service
from app.policy import versions
from tests.factories import make_organization
from tests.records.helpers import violation

V2_FROM = dt.date(2026, 7, 1)
ONE = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def keep_schedule() -> Iterator[None]:
    saved = versions.current()
    yield
    versions._schedule = saved


async def test_policies_are_published(client: AsyncClient) -> None:
    listed = (await client.get("/v1/policies")).json()["items"]
    assert [p["version"] for p in listed] == ["v1", "v2"]
    assert listed[1]["effective_from"] == versions.current().versions[1].effective_from.isoformat()
    one = await client.get("/v1/policies/v2")
    assert one.status_code == 200 and one.json()["c1_min_count"] == 3
    assert (await client.get("/v1/policies/v9")).status_code == 404
    assert (await client.get("/v1/policies/latest")).status_code == 422


async def test_v2_date_is_stored_at_first_start_and_moves_only_in_the_future(
    session: AsyncSession,
) -> None:
    with clock.frozen(dt.date(2026, 6, 1)):
        assert await policies.load_schedule(session, V2_FROM) == V2_FROM
        later = dt.date(2026, 9, 1)
        assert await policies.load_schedule(session, later) == later  # both in the future
        assert versions.current().in_force(later).version == "v2"
    with clock.frozen(dt.date(2026, 9, 1)):  # the stored date has come: no change any more
        assert await policies.load_schedule(session, dt.date(2026, 12, 1)) == dt.date(2026, 9, 1)
    with clock.frozen(dt.date(2026, 6, 1)):  # a new date must be in the future too
        assert await policies.load_schedule(session, dt.date(2026, 5, 1)) == dt.date(2026, 9, 1)


async def test_status_switches_version_on_the_effective_date_with_no_write(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    with versions.v2_from(V2_FROM), clock.frozen(V2_FROM - ONE):
        body = violation(decided_on="2026-06-01", severity="minor")
        posted = await client.post(
            f"/v1/organizations/{uscc}/violations", json=body, headers=regulator
        )
        assert posted.status_code == 201, posted.text
        before = (await client.get(f"/v1/organizations/{uscc}/credit")).json()
        assert (before["policy_version"], before["holds_until"]) == ("v1", "2026-06-30")
        with clock.frozen(V2_FROM):
            assert await credit_service.refresh_due(session) >= 1
            after = (await client.get(f"/v1/organizations/{uscc}/credit")).json()
            assert after["policy_version"] == "v2"
            past = (await client.get(f"/v1/organizations/{uscc}/credit?as_of=2026-06-30")).json()
            assert past["policy_version"] == "v1"


async def test_replicas_starting_together_store_the_date_once(
    engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """Two processes at first start on one database: the first stores the date, the
    other waits for it and reads it (both inserted before: the second failed)."""
    forget = text("DELETE FROM policy_versions WHERE version = 'v2' RETURNING effective_from")
    async with owner_engine.begin() as conn:
        kept = (await conn.execute(forget)).scalar()

    async def start() -> dt.date:
        async with AsyncSession(engine) as session:
            stored = await policies.load_schedule(session, V2_FROM)
            await asyncio.sleep(0.2)  # the rest of start-up, in the same transaction
            await session.commit()
            return stored

    try:
        with clock.frozen(dt.date(2026, 6, 1)):
            assert list(await asyncio.gather(start(), start())) == [V2_FROM, V2_FROM]
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(forget)
            if kept is not None:
                await conn.execute(
                    text(
                        "INSERT INTO policy_versions (version, effective_from, recorded_at) "
                        "VALUES ('v2', :d, now())"
                    ),
                    {"d": kept},
                )
