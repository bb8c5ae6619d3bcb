"""Webhook test plumbing: a real HTTP receiver on 127.0.0.1 (uvicorn in the test's
event loop), settings that admit it (QCR_WEBHOOK_ALLOW_PRIVATE/HTTP), a client
whose requests commit for real, and a dispatcher with a fast retry schedule and
an injectable clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from starlette.requests import Request
from starlette.responses import Response

from app.core.database import Database, get_session
from app.core.settings import Settings
from app.journal import heads, sequencer
from app.main import create_app
from app.partners.delivery import RetryPolicy
from app.partners.dispatcher import Dispatcher
from tests.factories import committed_key
from tests.partners.helpers import subscribe


async def eventually(check: Callable[[], Any], within: float = 5.0) -> None:
    """Poll `check` (a function, or a coroutine function) until it is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.02)


FAST = RetryPolicy(delays=(0.05,), repeat=0.05, jitter=0.0, timeout=2.0)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None  # the connection it came on

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that records what it is sent. `status` is the
    answer; `fail_first` answers 503 to that many requests first; `hold` makes
    each request wait that long before answering."""

    port: int = 0
    status: int = 200
    fail_first: int = 0
    hold: float = 0.0
    received: list[Received] = field(default_factory=list)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        peer = scope.get("client")
        self.received.append(Received(dict(request.headers), body, tuple(peer) if peer else None))
        if self.hold:
            await asyncio.sleep(self.hold)
        status = self.status
        if self.fail_first > 0:
            self.fail_first -= 1
            status = 503
        await Response(status_code=status)(scope, receive, send)

    async def start(self) -> None:
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        server = self.server
        await eventually(lambda: server.started)

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            self.server.force_exit = True
            await self.task
            self.server = self.task = None

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        """Until `count` distinct events have arrived."""
        await eventually(lambda: len(set(self.ids())) >= count, within)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def webhook_settings(test_settings: Settings) -> Settings:
    return test_settings.model_copy(
        update={"webhook_allow_private": True, "webhook_allow_http": True}
    )


@pytest.fixture
def private_app(engine: AsyncEngine, session: Any, webhook_settings: Settings) -> FastAPI:
    """The usual rolled-back app, admitting loopback HTTP targets."""
    app = create_app(webhook_settings, database=Database(engine))

    async def test_session() -> AsyncIterator[Any]:
        await sequencer.sequence_pending(session)  # as tests/conftest.py's app
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    return app


@pytest.fixture
async def private_client(private_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=private_app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def live_client(
    engine: AsyncEngine, owner_engine: AsyncEngine, webhook_settings: Settings
) -> AsyncIterator[AsyncClient]:
    """Requests commit for real (the dispatcher reads on its own connections), a
    journal sequencer runs as in `qcr serve`; every table is emptied afterwards."""
    app = create_app(webhook_settings, database=Database(engine))
    signer = heads.load_signer(webhook_settings)
    # Its own unpooled engine: the election's lock goes with its connection.
    sequencer_engine = create_async_engine(engine.url, poolclass=NullPool)
    sequencing = asyncio.create_task(sequencer.run(sequencer_engine, signer, interval=0.02))
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            yield client
    finally:
        sequencing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sequencing
        await sequencer_engine.dispose()
    async with owner_engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = await conn.scalars(
            text(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        )
        names = ", ".join(f'"{t}"' for t in tables)
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture
async def subscribed_regulator(
    live_client: AsyncClient, engine: AsyncEngine, receiver: Receiver
) -> dict[str, str]:
    """A regulator's key, `receiver` being subscribed to `recall.opened`."""
    partner = await committed_key(engine, "partner")
    await subscribe(live_client, partner, receiver.url, ["recall.opened"])
    return await committed_key(engine, "regulator")


class FrozenClock:
    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture
def make_dispatcher(engine: AsyncEngine, webhook_settings: Settings) -> Callable[..., Dispatcher]:
    def make(**kwargs: Any) -> Dispatcher:
        options: dict[str, Any] = {
            "policy": FAST,
            "poll_interval": 0.02,
            "election_interval": 0.05,
        }
        settings = kwargs.pop("settings", webhook_settings)
        return Dispatcher(engine, settings, **(options | kwargs))

    return make


UNSEQUENCED = text(
    "SELECT EXISTS (SELECT 1 FROM change_events e "
    "WHERE NOT EXISTS (SELECT 1 FROM change_sequence s WHERE s.event_id = e.id))"
)


async def sequenced(engine: AsyncEngine) -> None:
    """Wait (10 s at most) until the running sequencer has given every committed
    event its seq."""
    async with asyncio.timeout(10):
        while True:
            async with engine.connect() as conn:
                if not await conn.scalar(UNSEQUENCED):
                    return
            await asyncio.sleep(0.02)


async def settle(dispatcher: Dispatcher) -> None:
    """Everything committed sequenced, then one tick and every worker it started,
    run to the end (deterministic tests)."""
    await sequenced(dispatcher.engine)
    await dispatcher.tick()
    await asyncio.gather(*dispatcher.workers.values())
