"""The watched cache (app/core/watched.py) on a real change watch: entries answer
while the watch is confirmed, a committed notification drops its tag's entries
on commit, and `get_many` answers as `get` does, key by key."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.database import asyncpg_dsn
from app.core.notify import Watch, notify
from app.core.watched import WatchedCache
from tests.conftest import DatabaseUnderTest
from tests.waiting import wait_for


@pytest.fixture
async def watch(test_database: DatabaseUnderTest) -> AsyncIterator[Watch]:
    watch = Watch(asyncpg_dsn(test_database.service_url))
    running = asyncio.create_task(watch.run())
    await wait_for(watch.confirmed, "the watch to confirm")
    yield watch
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def test_get_many_answers_as_get_and_a_commit_invalidates(
    watch: Watch, engine: AsyncEngine
) -> None:
    cache: WatchedCache[str, bytes] = WatchedCache(watch, "thing", ttl=300, max_entries=10)
    token = cache.begin()
    cache.put("a", b"1", ("org-1",), token)
    cache.put("b", b"2", ("org-2",), token)
    keys = ["a", "b", "c", "a"]
    assert cache.get_many(keys) == [cache.get(k) for k in keys] == [b"1", b"2", None, b"1"]

    async with AsyncSession(engine) as session:
        await notify(session, "thing", "org-1")
        await session.commit()
    await wait_for(lambda: cache.get("a") is None, "the notification to drop org-1's entry")
    assert cache.get_many(keys) == [None, b"2", None, None]

    stale = cache.begin()
    async with AsyncSession(engine) as session:
        await notify(session, "thing", "org-2")
        await session.commit()
    await wait_for(lambda: cache.get("b") is None, "the notification to drop org-2's entry")
    cache.put("b", b"old", ("org-2",), stale)  # read before the change: not stored
    assert cache.get_many(["b"]) == [None]
