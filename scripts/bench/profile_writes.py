"""Where a grade write's time goes: one process, the real app (its lifespan,
sequencer included), an embedded PostgreSQL with a small data set, requests
sent in process one at a time.

    python scripts/bench/profile_writes.py [--organizations N] [--requests R] [--profile]

Prints, per `POST /v1/organizations/{code}/grades`: the SQL statements (counted
with SQLAlchemy's `before_cursor_execute`, plus the hot paths' asyncpg pool),
the wall time and the process's CPU time (a single worker's budget: the
throughput of one worker is bounded by 1 / CPU seconds per write); with
`--profile`, the functions of `app` that take the most CPU (cProfile).
Absolute times on a loaded machine are noisy; the statement count and the
split of CPU between functions are not.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextvars
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from app.core.database import prepare  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from scripts.bench import dataset  # noqa: E402
from scripts.bench.bench import make_keys  # noqa: E402

DATA_DIR = ROOT / "var" / "profile-writes"
GRADE = {"grade": "AA", "assessed_on": "2026-01-05", "authority": "基准测试局", "basis": "基准"}


IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


class Counter:
    """Statements run by the request (its context), apart from background tasks'
    (the sequencer's batches, the webhook dispatcher) run meanwhile."""

    def __init__(self) -> None:
        self.on = False
        self.statements: list[str] = []
        self.background: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            mine = IN_REQUEST.get()
            (self.statements if mine else self.background).append(" ".join(statement.split()))


async def run(args: argparse.Namespace) -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "QCR_DATA_DIR": str(DATA_DIR),
            "QCR_LOG_JSON": "true",
            "QCR_RATE_LIMIT_PUBLIC": "100000000/second",
        }
    )
    settings = Settings()
    urls = await asyncio.to_thread(prepare, settings, migrate=True)
    sample_file = DATA_DIR / "sample.json"
    if not sample_file.exists() or args.reload:
        sample = await dataset.load(urls.owner, args.organizations, 0, 0)
        sample_file.write_text(json.dumps(sample, ensure_ascii=False))
    sample = json.loads(sample_file.read_text())
    keys = await make_keys(urls.service, settings)
    args.owner_dsn = urls.owner.replace("postgresql+asyncpg://", "postgresql://")

    import logging

    import structlog

    from app.main import create_app

    app = create_app(settings)
    # One access log line per request is not what is measured.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    counter = Counter()
    event.listen(Engine, "before_cursor_execute", counter)
    usccs: list[str] = sample["usccs"]
    headers = {"Authorization": f"Bearer {keys['regulator']}"}
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(uscc: str) -> None:
                IN_REQUEST.set(True)
                r = await client.post(
                    f"/v1/organizations/{uscc}/grades", json=GRADE, headers=headers
                )
                assert r.status_code == 201, r.text

            for uscc in usccs[: args.warmup]:  # pools, statement caches, key cache
                await asyncio.create_task(post(uscc))
            walls, cpus, counts = [], [], []
            per_statement: collections.Counter[str] = collections.Counter()
            background: collections.Counter[str] = collections.Counter()
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            for uscc in usccs[args.warmup : args.warmup + args.requests]:
                counter.statements.clear()
                counter.background.clear()
                counter.on = True
                wall, cpu = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                await asyncio.create_task(post(uscc))
                if profiler:
                    profiler.disable()
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                counter.on = False
                counts.append(len(counter.statements))
                per_statement.update(s[:160] for s in counter.statements)
                background.update(s[:160] for s in counter.background)
            if args.concurrency:
                await concurrent(post, usccs[args.warmup + args.requests :], args)
    n = len(walls)
    print(f"{n} grade POSTs, one at a time, {args.organizations} organizations")
    print(
        f"statements per request: median {statistics.median(counts)} (min {min(counts)}, max {max(counts)})"
    )
    print(
        f"wall ms: median {statistics.median(walls) * 1000:.1f}; "
        f"CPU ms of this process: median {statistics.median(cpus) * 1000:.1f}, "
        f"mean {statistics.mean(cpus) * 1000:.1f}"
    )
    print("statements (count over all requests / requests):")
    for text, count in per_statement.most_common():
        print(f"  {count / n:5.2f}  {text}")
    print("meanwhile in background tasks (sequencer, dispatcher), per request:")
    for text, count in background.most_common():
        print(f"  {count / n:5.2f}  {text}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        if args.dump:
            stats.dump_stats(args.dump)


def postgres_cpu() -> float:
    """CPU seconds used so far by the embedded server's processes (postmaster's children)."""
    postmaster = int((DATA_DIR / "pg" / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


async def sample_waits(owner_dsn: str, stop: asyncio.Event) -> collections.Counter[str]:
    """What the registry's connections are doing, sampled every 10 ms."""
    import asyncpg

    seen: collections.Counter[str] = collections.Counter()
    conn = await asyncpg.connect(owner_dsn)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event, left(query, 60) AS q"
                " FROM pg_stat_activity WHERE application_name = 'qcr' AND state <> 'idle'"
            )
            for r in rows:
                seen[f"{r['state']} {r['wait_event_type']}/{r['wait_event']}: {r['q']}"] += 1
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    return seen


async def concurrent(post: Any, usccs: list[str], args: argparse.Namespace) -> None:
    """`--concurrency` clients posting for `--seconds`, as wrk does against one worker."""
    done = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + args.seconds
    queue = iter(usccs)

    async def client() -> None:
        nonlocal done
        for uscc in queue:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            await post(uscc)
            latencies.append(time.perf_counter() - started)
            done += 1

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_waits(args.owner_dsn, stop))
    wall, cpu, pg = time.perf_counter(), time.process_time(), postgres_cpu()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    wall, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, postgres_cpu() - pg
    stop.set()
    waits = await sampler
    latencies.sort()
    print(
        f"{args.concurrency} concurrent clients: {done / wall:.1f} writes/s over {wall:.1f} s, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, "
        f"CPU per write: this process {cpu / done * 1000:.1f} ms, "
        f"PostgreSQL {pg / done * 1000:.1f} ms"
    )
    total = sum(waits.values()) or 1
    print("  busy connections, sampled (share of samples):")
    for what, count in waits.most_common(15):
        print(f"    {count / total:5.1%}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organizations", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--concurrency", type=int, default=0, help="then N clients at once")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--dump", help="write the cProfile stats here")
    parser.add_argument("--reload", action="store_true", help="load the data set again")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
