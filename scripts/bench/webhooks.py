"""Time the webhook fan-out: E events to S subscribers on loopback.

Creates a scratch database (dropped first if it exists; by default on an
embedded PostgreSQL under --data-dir), migrates it, registers S subscriptions to
S receivers (in a child process, one port each: `--receiver uvicorn`, an ASGI
app answering 204, or `--receiver raw`, a bare asyncio HTTP/1.1 server answering
204 to every request, lighter on the shared cores),
appends E `credit.changed` events over O organizations through the real change
feed and outbox (one transaction), then runs the real dispatcher in this
process and reports the seconds until every delivery is marked delivered, and
the deliveries per second. The dispatcher's loop is uvloop, as in `qcr serve`
(`--loop asyncio` for the default one).

    python scripts/bench/webhooks.py --events 10000 --subscribers 20
    python scripts/bench/webhooks.py --events 10000 --subscribers 20 --receiver raw
    python scripts/bench/webhooks.py --events 1000 --subscribers 5 \
        --url postgresql://postgres@127.0.0.1:5432/qcr_bench_webhooks --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import journal
from app.core import embedded, migrations
from app.core.database import make_engine
from app.core.principal import Principal, Role
from app.core.settings import Settings
from app.journal import sequencer
from app.partners import subscriptions
from app.partners.dispatcher import Dispatcher
from app.partners.schemas import SubscriptionCreate
from app.partners.targets import TargetRules
from app.wiring import install_listeners
from scripts.bench.publish_lists import _sqlalchemy_url, recreate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


class RawReceiver(asyncio.Protocol):
    """A bare HTTP/1.1 server connection: reads each request (headers, then a
    Content-Length body) and answers 204, keeping the connection alive."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.answer()

    def answer(self) -> None:
        assert self.transport is not None
        self.transport.write(NO_CONTENT)


def _raw_receivers(ports: list[int]) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for p in ports:
            await loop.create_server(RawReceiver, "127.0.0.1", p)
        await asyncio.Event().wait()

    uvloop.run(serve())


def _receivers(ports: list[int]) -> None:
    """S HTTP servers in one process: answer 204 to everything."""
    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def serve() -> None:
        servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=p,
                    log_level="error",
                    lifespan="off",
                    access_log=False,
                )
            )
            for p in ports
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(serve())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await recreate(args.url)
    await migrations.upgrade_async(_sqlalchemy_url(args.url))
    settings = Settings(QCR_WEBHOOK_ALLOW_PRIVATE=True, QCR_WEBHOOK_ALLOW_HTTP=True)
    engine = make_engine(_sqlalchemy_url(args.url), settings, pool_size=args.subscribers + 5)
    install_listeners()
    ports = [_free_port() for _ in range(args.subscribers)]
    serve = _raw_receivers if args.receiver == "raw" else _receivers
    child = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    child.start()
    try:
        await asyncio.sleep(2)
        partner = Principal(Role.partner)
        rules = TargetRules(allow_private=True, allow_http=True)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            for port in ports:
                body = SubscriptionCreate.model_validate(
                    {"url": f"http://127.0.0.1:{port}/hook", "events": ["credit.changed"]}
                )
                await subscriptions.create(session, partner, body, rules)
            await session.commit()
        started = time.perf_counter()
        async with AsyncSession(engine) as session:
            for first in range(0, args.events, 5000):
                batch = [
                    (
                        "credit.changed",
                        f"91110105{n % args.organizations:010d}",
                        {"grade": "B", "as_of": "2026-11-30"},
                    )
                    for n in range(first, min(first + 5000, args.events))
                ]
                await journal.emit_many(session, batch)
            # The server's sequencer gives the events their feed `seq`; here,
            # in the writing transaction (the dispatcher sends sequenced events).
            while (await sequencer.sequence_pending(session)).more:
                pass
            await session.commit()
        enqueued = time.perf_counter() - started
        dispatcher = Dispatcher(engine, settings, poll_interval=0.05, concurrency=args.concurrency)
        task = asyncio.create_task(dispatcher.run())
        started = time.perf_counter()
        total = args.events * args.subscribers
        while True:
            await asyncio.sleep(0.5)
            async with engine.connect() as conn:
                done = await conn.scalar(
                    text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
                )
            if done == total or time.perf_counter() - started > args.limit:
                break
        elapsed = time.perf_counter() - started
        task.cancel()  # its clients close their connections
        await asyncio.gather(task, return_exceptions=True)
        return {
            "receiver": args.receiver,
            "loop": args.loop,
            "events": args.events,
            "subscribers": args.subscribers,
            "organizations": args.organizations,
            "deliveries": int(done or 0),
            "expected": total,
            "enqueue_seconds": round(enqueued, 2),
            "delivery_seconds": round(elapsed, 2),
            "deliveries_per_second": round(int(done or 0) / elapsed, 1),
        }
    finally:
        child.terminate()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", "-e", type=int, default=10_000)
    parser.add_argument("--subscribers", "-s", type=int, default=20)
    parser.add_argument("--organizations", "-o", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit", type=float, default=300, help="give up after this many s")
    parser.add_argument("--receiver", choices=("uvicorn", "raw"), default="uvicorn")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--url", help="a server to use (default: embedded, under --data-dir)")
    parser.add_argument("--data-dir", default="var/bench-webhooks")
    args = parser.parse_args()
    if args.url is None:
        args.url = embedded.url(embedded.start(Path(args.data_dir)), "qcr_bench_webhooks")
    runner = uvloop.run if args.loop == "uvloop" else asyncio.run
    print(json.dumps(runner(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
