"""Deliveries give way to requests (issue #16: delivery load leaves the hot paths'
figures within 10 %).

A lower CPU priority alone (app/partners/process.py) was not enough: on this
2-core machine the dispatcher still sent 3,900 deliveries a second at nice 19
while the credit lookup ran flat out, and the lookup lost 20 % of its requests a
second, because a delivery's work is not all the dispatcher's (PostgreSQL marks
it, the cores share their caches). So the dispatcher also watches the serving
processes: from when they used more than `busy_share` of a core in the last
`interval` (0.1 s) until they have used less than `calm_share` for a second, it
sends at most `busy_rate` deliveries a second (QCR_WEBHOOK_BUSY_RATE, 30: at
100 the anonymous lookup's p99 rose 16-17 % in two of the bench's runs),
and fewer on a slower machine: no more than its own CPU can pay for with
`busy_cpu` of a core (QCR_WEBHOOK_BUSY_CPU, 2 %), a delivery's cost being the
dispatcher's CPU per delivery, measured as it goes (a fixed rate that was within
10 % of the hot paths' figures on one day's machine cost 10-20 % on a machine
three times slower); otherwise as fast as it can. What it defers is only late,
never lost: events wait in the outbox in order.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger()

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def serving_cpu(parent: int, own: int, rescan: float = 2.0) -> Callable[[], float]:
    """CPU seconds used so far by `parent` and its children but `own` (the serving
    processes of `qcr serve`: uvicorn's workers are its children), from /proc;
    0 where there is no /proc (never busy). The processes are found by a scan of
    /proc at most every `rescan` seconds (a worker restarted is seen within it);
    each call reads only their `stat` files."""
    found: list[Path] = []
    scanned = -rescan

    def used() -> float:
        nonlocal found, scanned
        now = time.monotonic()
        if now - scanned >= rescan:
            found, scanned = _serving(parent, own), now
        ticks = 0
        for stat in found:
            fields = _stat(stat)
            if fields is not None:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / _TICKS

    return used


def _serving(parent: int, own: int) -> list[Path]:
    """The `stat` files of `parent` and its children but `own`."""
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return []
    out = []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        fields = _stat(entry / "stat")
        if fields is not None and (int(entry.name) == parent or int(fields[1]) == parent):
            out.append(entry / "stat")
    return out


def _stat(path: Path) -> list[str] | None:
    """A process's `stat` fields after its name (None: gone meanwhile)."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


class Pace:
    def __init__(
        self,
        serving: Callable[[], float],
        *,
        busy_rate: float,
        busy_share: float = 0.5,
        busy_cpu: float = 0.02,
        interval: float = 0.1,
        own: Callable[[], float] = time.process_time,
        calm_share: float = 0.25,
        calm_readings: int = 10,
    ) -> None:
        self.serving = serving
        self.busy_rate = busy_rate  # deliveries a second at most while busy
        self.busy_share = busy_share
        self.busy_cpu = busy_cpu  # of a core, for deliveries while busy
        self.interval = interval
        # Busy ends only after `calm_readings` readings in a row under `calm_share`
        # (a second): under load the serving processes' share dips below
        # `busy_share` whenever deliveries take the cores from them, and deliveries
        # at full speed in such a dip took more (seen: 514 a second in a loaded
        # window, the share flipping between 0.4 and 0.9 every few tenths).
        self.calm_share = calm_share
        self.calm_readings = calm_readings
        self.own = own  # this process's CPU seconds
        self.rate = busy_rate  # while busy: busy_rate, or what busy_cpu pays for
        self.cost = 0.0  # CPU seconds per delivery, as measured (0: not yet)
        self.taken = 0
        self.burst = max(1.0, busy_rate / 10)  # a tenth of a second's worth
        # Until a reading says otherwise, give way: a dispatcher that starts (or
        # resumes after its loop stood still) cannot know what serving is doing.
        self.busy = True
        self._turns = asyncio.Lock()
        self._tokens = 0.0
        self._at = 0.0

    async def watch(self) -> None:
        """Forever: is serving busy? (its processes' CPU read every `interval`: load
        that starts finds deliveries paced within a tenth of a second)."""
        loop = asyncio.get_running_loop()
        last_cpu, last_at = self.serving(), loop.time()
        last_own, last_taken = self.own(), self.taken
        calm = 0  # readings in a row below calm_share
        while True:
            await asyncio.sleep(self.interval)
            cpu, at = self.serving(), loop.time()
            own, taken = self.own(), self.taken
            if taken - last_taken >= 5:  # enough deliveries to say what one costs
                cost = (own - last_own) / (taken - last_taken)
                self.cost = cost if not self.cost else 0.7 * self.cost + 0.3 * cost
                self.rate = max(1.0, min(self.busy_rate, self.busy_cpu / max(self.cost, 1e-9)))
            last_own, last_taken = own, taken
            span = at - last_at
            share = (cpu - last_cpu) / max(span, 1e-6)
            # A reading over much more than `interval` (the loop stood still, the
            # process was stopped) averages old load: give way until a fresh one.
            if span > 2 * self.interval or share > self.busy_share:
                busy, calm = True, 0
            elif share < self.calm_share:
                calm += 1
                busy = self.busy and calm < self.calm_readings
            else:  # between the two: as it was
                busy, calm = self.busy, 0
            if busy != self.busy:
                log.debug("webhook_pace", busy=busy)  # up to 10 a second: not for the console
            self.busy, last_cpu, last_at = busy, cpu, at

    async def take(self) -> None:
        """Wait for this delivery's turn: none while serving is not busy; else a
        token bucket of `busy_rate` a second, `burst` deep, served first come first
        served (one waiter sleeps at a time, the others queue on the lock)."""
        self.taken += 1
        if not self.busy:
            return
        async with self._turns:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = asyncio.get_running_loop().time()
        earned = (now - self._at) * self.rate if self._at else self.burst
        self._tokens = min(self.burst, self._tokens + earned)
        self._at = now
