"""A 5,000-row CSV import in one process: the real app (its lifespan, sequencer
included), an embedded PostgreSQL with 2,000 organizations of the bench data
set, one import of `--rows` rows on 100 organizations sent in process.

    python scripts/bench/profile_import.py [--rows N] [--offset K] [--mode partial|atomic]

Prints the import's wall and CPU time, the SQL statements run meanwhile
(SQLAlchemy's `before_cursor_execute`, background tasks' included) and how
late a 5 ms `asyncio.sleep` ticker woke ("loop stall": what any other request
of the process waited for). `--offset` picks the 100 organizations (take ones
not imported into before: an organization's credit costs more the more
violations it has). Absolute times on a loaded machine are noisy: compare runs
alternating with the base in one session.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from app.core.database import prepare  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from scripts.bench import dataset  # noqa: E402
from scripts.bench.bench import make_keys  # noqa: E402

DATA_DIR = ROOT / "var" / "profile-import"
HEADER = "uscc,case_no,authority,decided_on,category,severity,public_summary"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def run(args: argparse.Namespace) -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {"QCR_DATA_DIR": str(DATA_DIR), "QCR_LOG_JSON": "true", "QCR_FOUR_EYES": "false"}
    )
    settings = Settings()
    urls = await asyncio.to_thread(prepare, settings, migrate=True)
    sample_file = DATA_DIR / "sample.json"
    if not sample_file.exists():
        sample_file.write_text(
            json.dumps(await dataset.load(urls.owner, 2000, 0, 0), ensure_ascii=False)
        )
    targets = json.loads(sample_file.read_text())["usccs"][args.offset : args.offset + 100]
    keys = await make_keys(urls.service, settings)

    from app.main import create_app

    app = create_app(settings)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    statements: collections.Counter[str] = collections.Counter()
    counting = {"on": False}

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if counting["on"]:
            statements[" ".join(statement.split())[:120]] += 1

    event.listen(Engine, "before_cursor_execute", count)
    stamp = time.strftime("%H%M%S")
    rows = [
        f"{targets[i % len(targets)]},剖析{stamp}-{i},基准测试局,2026-01-05,产品质量,minor,基准导入"
        for i in range(args.rows)
    ]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode()
    headers = {"Authorization": f"Bearer {keys['regulator']}", "content-type": "text/csv"}
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - started - 0.005)

    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://bench", timeout=600) as c,
    ):
        tick = asyncio.create_task(ticker())
        counting["on"] = True
        wall, cpu = time.perf_counter(), time.process_time()
        response = await c.post(
            f"/v1/imports/violations?mode={args.mode}", content=data, headers=headers
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counting["on"] = False
        done.set()
        await tick
    assert response.status_code == 200, response.text[:500]
    print(f"imported {response.json()['imported']} rows: wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(
        f"loop stall ms: p50 {percentile(stalls, 0.5):.1f}, p99 {percentile(stalls, 0.99):.1f}, "
        f"max {max(stalls) * 1000:.1f}"
    )
    print(f"statements: {sum(statements.values())}")
    for statement, n in statements.most_common(args.top):
        print(f"{n:7d} {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--mode", choices=["partial", "atomic"], default="partial")
    parser.add_argument("--top", type=int, default=12, help="statements listed")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
