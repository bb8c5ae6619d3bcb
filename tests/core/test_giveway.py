"""Bulk work gives way in time slices, and pauses only while others are served."""

from __future__ import annotations

import asyncio
import time

import pytest
from httpx import ASGITransport, AsyncClient
from starlette.types import Receive, Scope, Send

from app.core import giveway
from app.core.middleware import RequestContextMiddleware


@pytest.fixture
def others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another request than the bulk one is in flight in this process."""
    monkeypatch.setattr(giveway.IN_FLIGHT, "count", 2)


async def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_outside_bulk_a_turn_is_one_turn_of_the_loop() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await giveway.turn()
    assert ran == ["other"]
    await task


async def test_within_a_slice_bulk_work_keeps_the_loop(others: None) -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    with giveway.bulk():
        task = asyncio.create_task(other())
        await giveway.turn()  # just begun: under SLICE of work
        assert ran == []
        await task


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses `turn()` asks for (each still one turn of the loop)."""
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await real(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # giveway calls asyncio.sleep
    return asked


async def test_after_a_slice_it_pauses_as_long_while_others_are_served(
    others: None, pauses: list[float]
) -> None:
    with giveway.bulk():
        await _busy(giveway.SLICE * 2)
        await giveway.turn()
    assert len(pauses) == 1
    assert giveway.SLICE * 2 <= pauses[0] <= giveway.MAX_PAUSE


async def test_a_pause_is_bounded(others: None, pauses: list[float]) -> None:
    with giveway.bulk():
        await _busy(giveway.MAX_PAUSE * 3)
        await giveway.turn()
    assert pauses == [giveway.MAX_PAUSE]


async def test_alone_it_only_turns_the_loop(pauses: list[float]) -> None:
    assert giveway.IN_FLIGHT.count <= 1
    with giveway.bulk():
        await _busy(giveway.SLICE * 4)
        await giveway.turn()
    assert pauses == [0]


async def test_the_middleware_counts_the_requests_in_flight() -> None:
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(giveway.IN_FLIGHT.count)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    before = giveway.IN_FLIGHT.count
    transport = ASGITransport(app=RequestContextMiddleware(app))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/anything")).status_code == 204
    assert seen == [before + 1]
    assert giveway.IN_FLIGHT.count == before
