"""Deliveries give way to requests (app/partners/pace.py): full speed while the
serving processes are idle, `busy_rate` a second while they are busy (until they
have been calm for a while), and the serving processes' CPU is read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

from app.partners.pace import Pace, serving_cpu
from tests.live import children


class Load:
    """A serving CPU reading the test sets: `share` of a core, as time goes."""

    def __init__(self) -> None:
        self.share = 0.0
        self.used = 0.0
        self.at = asyncio.get_running_loop().time()

    def __call__(self) -> float:
        now = asyncio.get_running_loop().time()
        self.used += (now - self.at) * self.share
        self.at = now
        return self.used


async def _calm(pace: Pace) -> None:
    """Until the pace no longer gives way (readings may come late on a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + 5
    while pace.busy:
        assert asyncio.get_running_loop().time() < deadline, "still giving way after 5 s"
        await asyncio.sleep(0.01)


async def _rate(pace: Pace, takes: int) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(takes):
        await pace.take()
    return takes / (loop.time() - started)


async def test_full_speed_while_serving_is_idle_and_paced_while_it_is_busy() -> None:
    load = Load()
    pace = Pace(load, busy_rate=50, interval=0.05, calm_readings=4)
    watching = asyncio.create_task(pace.watch())
    try:
        await _calm(pace)
        assert await _rate(pace, 1000) > 10_000  # no wait at all

        load.share = 0.9  # the serving processes use 90 % of a core
        await asyncio.sleep(0.12)
        assert pace.busy
        rate = await _rate(pace, 30)  # the burst (5), then 50 a second
        assert 15 <= rate <= 80, rate  # never faster; slower only on a loaded machine

        load.share = 0.4  # below the busy share, above the calm share: still busy
        await asyncio.sleep(0.3)
        assert pace.busy
        load.share = 0.1  # calm, but not yet for calm_readings (4) readings
        await asyncio.sleep(0.12)
        assert pace.busy
        await _calm(pace)  # calm long enough: full speed again
        assert await _rate(pace, 1000) > 10_000
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching


async def test_waiters_go_in_the_order_they_asked() -> None:
    pace = Pace(lambda: 0.0, busy_rate=200)
    pace.busy = True
    order: list[int] = []

    async def one(n: int) -> None:
        await pace.take()
        order.append(n)

    await asyncio.gather(*(one(n) for n in range(40)))
    assert order == list(range(40))


def test_serving_cpu_counts_the_parent_and_its_children_but_the_dispatcher() -> None:
    spin = f"{sys.executable} -c 'while True: pass'"
    parent = subprocess.Popen(["bash", "-c", f"{spin} & {spin} & wait"], start_new_session=True)
    try:
        spinners: list[int] = []
        deadline = time.monotonic() + 10
        while len(spinners) < 2 and time.monotonic() < deadline:
            spinners = children(parent.pid)
        a, b = spinners
        time.sleep(1.0)
        both = serving_cpu(parent.pid, own=-1)()
        without_b = serving_cpu(parent.pid, own=b)()
        alone_b = both - without_b
        assert without_b > 0.05 and alone_b > 0.05, (both, without_b)
        assert serving_cpu(a, own=-1)() < both  # a process without children: its own
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # bash and both spinners
        parent.wait(10)


async def test_gives_way_at_start_and_after_the_loop_stood_still() -> None:
    load = Load()  # serving idle throughout
    pace = Pace(load, busy_rate=50, interval=0.05, calm_readings=2)
    assert pace.busy  # nothing read yet: give way
    watching = asyncio.create_task(pace.watch())
    try:
        await _calm(pace)
        time.sleep(0.3)  # noqa: ASYNC251 - the loop stands still, as a stopped process's
        for _ in range(5):  # the reading due meanwhile spans 0.3 s: not trusted
            await asyncio.sleep(0)
        assert pace.busy
        await _calm(pace)  # fresh readings: idle, full speed again
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching


async def test_while_busy_no_more_than_busy_cpu_pays_for() -> None:
    """On a slow machine (here: 4 ms of the dispatcher's CPU a delivery) the busy rate
    is what `busy_cpu` of a core pays for (2 % → 5 a second), not `busy_rate`."""
    load = Load()
    pace = Pace(
        load,
        busy_rate=50,
        busy_cpu=0.02,
        interval=0.05,
        own=lambda: pace.taken * 0.004,
        calm_readings=2,
    )
    watching = asyncio.create_task(pace.watch())
    try:
        await _calm(pace)
        for _ in range(3):  # deliveries at full speed: their cost is measured
            await _rate(pace, 50)
            await asyncio.sleep(0.06)
        assert abs(pace.cost - 0.004) < 1e-6
        assert pace.rate == 5.0
        load.share = 0.9
        await asyncio.sleep(0.12)
        assert pace.busy
        rate = await _rate(pace, 10)  # the burst (5), then 5 a second
        assert 3 <= rate <= 12, rate
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
