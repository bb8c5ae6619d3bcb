"""Due process runs under policy v2: it applies from 2026-01-01 here, and today is
Monday 2026-06-15 (the Dragon Boat Festival is Friday 2026-06-19)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.policy import versions
from tests.factories import make_key, make_organization
from tests.records.helpers import violation

TODAY = dt.date(2026, 6, 15)
V2_FROM = dt.date(2026, 1, 1)


@pytest.fixture(autouse=True)
def under_v2() -> Iterator[None]:
    """Policy v2 in force (the suite is a one-person office: four eyes has its own tests)."""
    with versions.v2_from(V2_FROM), clock.frozen(TODAY):
        yield


async def listed_pending(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """An organization with a serious violation (S1) under v2, its violation, and
    its enterprise key."""
    uscc = await make_organization(session)
    body = violation(severity="serious", decided_on="2026-06-01")
    created = await client.post(
        f"/v1/organizations/{uscc}/violations", json=body, headers=regulator
    )
    assert created.status_code == 201, created.text
    return uscc, created.json(), await make_key(session, "enterprise", uscc)


async def credit(client: AsyncClient, uscc: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"/v1/organizations/{uscc}/credit", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())
