"""The hot paths with and without webhook delivery load, in the same run (issue #16:
delivery load leaves the hot-path figures within 10 %).

Against the running registry: 20 subscriptions (the partner key) to 20 bare
HTTP/1.1 receivers on loopback, in a child process at nice 19 (they stand for the
partners' own servers, which are not on the registry's machine: the lowest
priority keeps them from taking what would be the registry's share of the two
cores); then a backlog of `credit.changed` events through the real journal and
outbox (20 deliveries each), sequenced by the registry's own sequencer. The
registry's dispatcher process (`qcr dispatch`, a child of `qcr serve`) is paused
with SIGSTOP for the runs without load and resumed with SIGCONT for the runs
with it, alternately (A B, B A, …); the requests the receivers answered during each
loaded run show how much delivery there was.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import make_engine
from app.core.settings import Settings
from app.wiring import install_listeners
from scripts.bench.webhooks import RawReceiver, _free_port

SUBSCRIBERS = 20

UNSEQUENCED = text(
    "SELECT count(*) FROM change_events e "
    "WHERE NOT EXISTS (SELECT 1 FROM change_sequence s WHERE s.event_id = e.id)"
)


class _CountingReceiver(RawReceiver):
    """Answers 204 (as the fan-out bench's) and counts the requests it answers:
    what was sent, marked in the outbox yet or not (a batch is marked at its end)."""

    answered: Any = None  # a multiprocessing.Value, set in the child

    def answer(self) -> None:
        super().answer()
        with self.answered.get_lock():
            self.answered.value += 1


def _niced_receivers(ports: list[int], answered: Any) -> None:
    os.nice(19)
    _CountingReceiver.answered = answered

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for port in ports:
            await loop.create_server(_CountingReceiver, "127.0.0.1", port)
        await asyncio.Event().wait()

    uvloop.run(serve())


def _dispatcher_pid(server_pid: int) -> int:
    """The `qcr dispatch` child of the registry's `qcr serve` process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"dispatch" in command:
            return int(entry.name)
    raise RuntimeError("the registry runs no dispatcher process (QCR_WEBHOOK_DISPATCHER?)")


def _call(registry: str, partner_key: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{registry}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {partner_key}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 201, 204), response.status
        return json.loads(response.read() or b"null")


def _delete_leftovers(registry: str, partner_key: str) -> int:
    """Delete the partner's subscriptions that are not deleted yet: an interrupted
    run leaves its 20 enabled, to receivers that are gone, and the dispatcher then
    works through their backlogs (retries, batches of 1,000) beside this run's
    deliveries. How many there were."""
    left, cursor = [], ""
    while True:
        page = _call(registry, partner_key, "GET", f"/v1/subscriptions?limit=200{cursor}")
        left += [s["id"] for s in page["items"] if s["status"] != "deleted"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    for subscription in left:
        _call(registry, partner_key, "DELETE", f"/v1/subscriptions/{subscription}")
    return len(left)


async def _enqueue(service_url: str, usccs: list[str], events: int) -> None:
    """`events` credit.changed events (round the organizations), then wait until the
    registry's sequencer has given them all their feed seq."""
    install_listeners()
    engine = make_engine(service_url, Settings(), pool_size=2)
    try:
        async with AsyncSession(engine) as session:
            for first in range(0, events, 5000):
                batch = [
                    ("credit.changed", usccs[n % len(usccs)], {"grade": "B", "as_of": "2026-11-30"})
                    for n in range(first, min(first + 5000, events))
                ]
                await journal.emit_many(session, batch)
            await session.commit()
        print(f"delivery load: {events} events appended", flush=True)
        while True:
            async with engine.connect() as conn:
                if not await conn.scalar(UNSEQUENCED):
                    return
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def run(
    registry: str,
    server_pid: int,
    service_url: str,
    partner_key: str,
    usccs: list[str],
    scenarios: dict[str, dict[str, Any]],
    measure: Callable[[dict[str, Any]], dict[str, float]],
    warm: Callable[[dict[str, Any]], Any],
    pairs: int,
    events: int,
) -> dict[str, Any]:
    """Per scenario: the runs without and with delivery load, and their ratios,
    after a run that warms the scenario's caches (unmeasured, no deliveries)."""
    ports = [_free_port() for _ in range(SUBSCRIBERS)]
    answered = multiprocessing.Value("q", 0)
    receivers = multiprocessing.Process(
        target=_niced_receivers, args=(ports, answered), daemon=True
    )
    receivers.start()
    dispatcher = _dispatcher_pid(server_pid)
    os.kill(dispatcher, signal.SIGSTOP)
    subscribed: list[str] = []
    try:
        if left := _delete_leftovers(registry, partner_key):
            print(f"delivery load: {left} subscriptions of an earlier run deleted", flush=True)
        time.sleep(1)
        for port in ports:
            body = {"url": f"http://127.0.0.1:{port}/hook", "events": ["credit.changed"]}
            subscribed.append(_call(registry, partner_key, "POST", "/v1/subscriptions", body)["id"])
        started = time.perf_counter()
        asyncio.run(_enqueue(service_url, usccs[:1000], events))
        out: dict[str, Any] = {
            "events": events,
            "subscribers": SUBSCRIBERS,
            "enqueue_seconds": round(time.perf_counter() - started, 1),
            "pairs": pairs,
            "scenarios": {},
        }
        for name, scenario in scenarios.items():
            runs = []
            warm(scenario)
            for i in range(pairs):
                # Quiet first in one pair, loaded first in the next: a drift of
                # the machine's speed through the part favours neither.
                if i % 2 == 0:
                    quiet = measure(scenario)
                os.kill(dispatcher, signal.SIGCONT)
                before, at = answered.value, time.perf_counter()
                loaded = measure(scenario)
                delivered = answered.value - before
                seconds = time.perf_counter() - at
                os.kill(dispatcher, signal.SIGSTOP)
                if i % 2:
                    quiet = measure(scenario)
                runs.append(
                    {
                        "quiet": quiet,
                        "loaded": loaded,
                        "deliveries_per_s": round(delivered / seconds, 1),
                        "rps_ratio": loaded["rps"] / quiet["rps"],
                        "p99_ratio": loaded["p99_ms"] / quiet["p99_ms"],
                    }
                )
            median = {
                key: statistics.median(r[key] for r in runs)
                for key in ("rps_ratio", "p99_ratio", "deliveries_per_s")
            }
            out["scenarios"][name] = {"pairs": runs, "median": median}
            print(f"{name}, delivery load", json.dumps(median), flush=True)
        return out
    finally:
        os.kill(dispatcher, signal.SIGCONT)
        for subscription in subscribed:  # a later run starts without them
            _call(registry, partner_key, "DELETE", f"/v1/subscriptions/{subscription}")
        receivers.terminate()
        receivers.join(5)
