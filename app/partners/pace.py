"""Deliveries give way to requests (issue #16: delivery load leaves the hot paths'
figures within 10 %).

A lower CPU priority alone (app/partners/process.py) was not enough: on this
2-core machine the dispatcher still sent 3,900 deliveries a second at nice 19
while the credit lookup ran flat out, and the lookup lost 20 % of its requests a
second, because a delivery's work is not all the dispatcher's (PostgreSQL marks
it, the cores share their caches). So the dispatcher also watches the serving
processes: while they used more than `busy_share` of a core in the last
`interval`, it sends at most `busy_rate` deliveries a second (QCR_WEBHOOK_BUSY_RATE);
otherwise as fast as it can. What it defers is only late, never lost: events
wait in the outbox in order.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger()

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def serving_cpu(parent: int, own: int) -> Callable[[], float]:
    """CPU seconds used so far by `parent` and its children but `own` (the serving
    processes of `qcr serve`: uvicorn's workers are its children), from /proc;
    0 where there is no /proc (never busy)."""

    def used() -> float:
        ticks = 0
        try:
            entries = list(Path("/proc").iterdir())
        except OSError:
            return 0.0
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == own:
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(entry.name) == parent or int(fields[1]) == parent:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / _TICKS

    return used


class Pace:
    def __init__(
        self,
        serving: Callable[[], float],
        *,
        busy_rate: float,
        busy_share: float = 0.5,
        interval: float = 0.5,
    ) -> None:
        self.serving = serving
        self.busy_rate = busy_rate
        self.busy_share = busy_share
        self.interval = interval
        self.burst = max(1.0, busy_rate / 10)  # a tenth of a second's worth
        self.busy = False
        self._turns = asyncio.Lock()
        self._tokens = 0.0
        self._at = 0.0

    async def watch(self) -> None:
        """Forever: is serving busy? (one /proc read per `interval`)."""
        loop = asyncio.get_running_loop()
        last_cpu, last_at = self.serving(), loop.time()
        while True:
            await asyncio.sleep(self.interval)
            cpu, at = self.serving(), loop.time()
            busy = (cpu - last_cpu) / max(at - last_at, 1e-6) > self.busy_share
            if busy != self.busy:
                log.info("webhook_pace", busy=busy)
            self.busy, last_cpu, last_at = busy, cpu, at

    async def take(self) -> None:
        """Wait for this delivery's turn: none while serving is not busy; else a
        token bucket of `busy_rate` a second, `burst` deep, served first come first
        served (one waiter sleeps at a time, the others queue on the lock)."""
        if not self.busy:
            return
        async with self._turns:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.busy_rate)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = asyncio.get_running_loop().time()
        earned = (now - self._at) * self.busy_rate if self._at else self.burst
        self._tokens = min(self.burst, self._tokens + earned)
        self._at = now
