"""`Batcher`: concurrent one-key reads become one call, each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from app.core.batching import Batcher


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.delay = delay
        self.fail_on = fail_on

    async def __call__(self, keys: list[int]) -> list[int]:
        self.calls.append(list(keys))
        await asyncio.sleep(self.delay)
        if self.fail_on in keys:
            raise LookupError(f"key {self.fail_on}")
        return [key * 10 for key in keys]


async def test_a_lone_lookup_runs_at_once_in_a_batch_of_one() -> None:
    run = Recorder()
    assert await Batcher(run).get(7) == 70
    assert run.calls == [[7]]


async def test_concurrent_lookups_go_in_one_call_each_with_its_own_answer() -> None:
    run = Recorder()
    batcher = Batcher(run)
    answers = await asyncio.gather(*(batcher.get(k) for k in range(5)))
    assert answers == [0, 10, 20, 30, 40]
    assert run.calls == [[0, 1, 2, 3, 4]]


async def test_lookups_made_during_a_batch_go_together_in_the_next() -> None:
    run = Recorder(delay=0.05)
    batcher = Batcher(run)
    first = asyncio.ensure_future(batcher.get(1))
    await asyncio.sleep(0.01)  # the first batch is under way
    later = await asyncio.gather(*(batcher.get(k) for k in (2, 3, 4)))
    assert await first == 10
    assert later == [20, 30, 40]
    assert run.calls == [[1], [2, 3, 4]]


async def test_a_batch_holds_at_most_the_limit() -> None:
    run = Recorder()
    batcher = Batcher(run, limit=2)
    assert await asyncio.gather(*(batcher.get(k) for k in range(5))) == [0, 10, 20, 30, 40]
    assert run.calls == [[0, 1], [2, 3], [4]]


async def test_a_failed_batch_fails_its_callers_and_the_next_batch_runs() -> None:
    run = Recorder(fail_on=2)
    batcher = Batcher(run)
    results = await asyncio.gather(*(batcher.get(k) for k in (1, 2)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert await batcher.get(3) == 30  # the batcher still works


async def test_a_caller_that_goes_away_does_not_disturb_the_others() -> None:
    run = Recorder(delay=0.05)
    batcher = Batcher(run)
    leaving = asyncio.ensure_future(batcher.get(1))
    staying = asyncio.ensure_future(batcher.get(2))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
