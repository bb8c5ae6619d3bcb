"""Concurrent one-key reads answered by one statement: `Batcher.get(key)` waits
for its turn in the next batch, and one task runs the batches one after another.

A lookup arriving while the database is idle runs at once (a batch of one, one
turn of the event loop later); lookups arriving while a batch is under way
wait for it to end and then go together, in one statement. Under load the
batches grow with the number of clients waiting, so each pays a share of one
round trip and one statement instead of its own: the same answers, read no
earlier than the lookup was made (never from a copy kept between batches).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """`run(keys)` answers a list of keys with a list of values in the same order."""

    def __init__(self, run: Callable[[list[K]], Awaitable[Sequence[V]]], limit: int = 256) -> None:
        self._run = run
        self._limit = limit  # keys in one statement at most
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        return await future

    async def _work(self) -> None:
        try:
            await asyncio.sleep(0)  # lookups made in this turn of the loop go too
            while self._waiting:
                batch = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                await self._answer(batch)
        finally:
            self._worker = None
            if self._waiting:  # cancelled: the ones left over are not stranded
                for _, future in self._waiting:
                    if not future.done():
                        future.set_exception(asyncio.CancelledError())
                self._waiting.clear()

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._run([key for key, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():  # its request may have gone (cancelled)
                future.set_result(value)
