"""Bulk work inside a request (a CSV import) that gives way to the process's
other requests.

A 5,000-row import is seconds of CPU in the process that serves it: turning the
event loop now and then (`asyncio.sleep(0)`) lets the other requests in, but
the import is ready again at once and keeps the core, so a grade written on the
same process waits behind it (SPEC §7: an import must not hold up writes to
other organizations). Inside `bulk()`, `turn()` gives way in time slices: after
`SLICE` seconds since its last turn the work yields, and while other requests
are in flight in this process it sleeps three times as long (at most
`MAX_PAUSE`), so that it takes about a quarter of the process's time; alone, it
runs at full speed.
Outside `bulk()`, `turn()` is one turn of the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SLICE = 0.005  # seconds of bulk work between two turns of the event loop
SHARE = 0.25  # of the process's time the bulk work takes while others wait
MAX_PAUSE = 0.05  # the longest pause (the time since a turn may include awaits)


class InFlight:
    """The HTTP requests this process is serving (app.core.middleware counts)."""

    count = 0


IN_FLIGHT = InFlight()


class GiveWay:
    def __init__(self) -> None:
        self._since = time.perf_counter()

    async def turn(self) -> None:
        worked = time.perf_counter() - self._since
        if worked < SLICE:
            return
        if IN_FLIGHT.count > 1:  # another request than the bulk one
            await asyncio.sleep(min(worked * (1 - SHARE) / SHARE, MAX_PAUSE))
        else:
            await asyncio.sleep(0)
        self._since = time.perf_counter()


_CURRENT: ContextVar[GiveWay | None] = ContextVar("giveway", default=None)


@contextmanager
def bulk() -> Iterator[None]:
    """Mark the work of this block as bulk work (its `turn()`s give way)."""
    token = _CURRENT.set(GiveWay())
    try:
        yield
    finally:
        _CURRENT.reset(token)


async def turn() -> None:
    """A point where the current work may let other requests run."""
    current = _CURRENT.get()
    if current is None:
        await asyncio.sleep(0)
    else:
        await current.turn()
