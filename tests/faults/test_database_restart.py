"""Faults without loss: concurrent writes while PostgreSQL is stopped and started.

Clients keep writing (PUT organizations, POST violations with an Idempotency-Key)
against the app on a real socket; the dedicated server is stopped (`pg_ctl stop
-m fast`: sessions are terminated mid-transaction) and started again. A client
retries on 503 or a broken connection with the same key, as a careful client
would. Afterwards every write the service acknowledged with 2xx is in the
database exactly once, no write is there twice, the audit chain is intact, the
service answered 503 problem+json with Retry-After while the database was down
(never a 500), and recovered by itself. Each phase waits for its condition (so
many writes acknowledged, a 503 seen, /readyz polled) under a deadline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.audit import verify as audit_verify
from app.core import database, errors
from app.core.clock import today
from app.core.database import make_engine
from app.core.settings import Settings
from tests import figures
from tests.factories import committed_key, committed_organization, random_uscc
from tests.faults.conftest import FaultServer
from tests.waiting import wait_for


async def _is(status: Awaitable[int], expected: int) -> bool:
    return await status == expected


WRITERS = 6
# No fixed sleeps: each phase waits for what it needs, under a generous deadline
# that only a broken service reaches (a busy CI machine is merely slower).
BEFORE_STOP = 10  # writes acknowledged before the database stops
AFTER_START = 10  # writes acknowledged after it is back


@dataclass
class Write:
    method: str
    url: str
    body: dict[str, Any]
    key: str  # the natural key of what it creates: a USCC or a case number
    idempotency_key: str | None = None
    acknowledged: dict[str, Any] | None = None
    attempts: int = 0


@dataclass
class Tally:
    sent: list[Write] = field(default_factory=list)
    reads: int = 0
    unavailable: int = 0  # 503 answers
    broken: int = 0  # connections that failed
    unexpected: list[str] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)


async def _perform(client: httpx.AsyncClient, write: Write, tally: Tally, deadline: float) -> None:
    headers = {"Idempotency-Key": write.idempotency_key} if write.idempotency_key else {}
    while time.monotonic() < deadline:
        write.attempts += 1
        try:
            response = await client.request(
                write.method, write.url, json=write.body, headers=headers
            )
        except httpx.TransportError:
            tally.broken += 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code in (200, 201):
            write.acknowledged = response.json()
            tally.acknowledged_at.append(time.monotonic())
            return
        if response.status_code == 503:
            tally.unavailable += 1
            if response.headers.get("content-type") != "application/problem+json":
                tally.unexpected.append(f"503 without problem+json: {response.text[:100]}")
            if not response.headers.get("retry-after", "").isdigit():
                tally.unexpected.append("503 without Retry-After")
            await asyncio.sleep(0.2)  # shorter than Retry-After: the test has no time to lose
            continue
        tally.unexpected.append(
            f"{write.method} {write.url}: {response.status_code} {response.text}"
        )
        return


async def _writer(
    client: httpx.AsyncClient,
    n: int,
    headers: dict[str, str],
    targets: list[str],
    tally: Tally,
    stop: asyncio.Event,
) -> None:
    client.headers.update(headers)
    i = 0
    while not stop.is_set():
        i += 1
        if i % 2:
            uscc = random_uscc()
            write = Write(
                "PUT", f"/v1/organizations/{uscc}", {"name": f"故障测试{n}-{i}有限公司"}, uscc
            )
        else:
            case_no = f"故障{n}-{i}-{uuid.uuid4().hex[:6]}"
            body = {
                "case_no": case_no,
                "authority": "故障测试局",
                "decided_on": today().isoformat(),
                "category": "产品质量",
                "severity": "minor",
                "public_summary": "测试",
            }
            target = targets[i % len(targets)]
            write = Write(
                "POST",
                f"/v1/organizations/{target}/violations",
                body,
                case_no,
                idempotency_key=uuid.uuid4().hex,
            )
        tally.sent.append(write)
        await _perform(client, write, tally, deadline=time.monotonic() + 60)


async def _reader(
    client: httpx.AsyncClient, paths: list[str], tally: Tally, stop: asyncio.Event
) -> None:
    """Reads during the outage: the hot paths (one raw asyncpg statement) and the ORM ones."""
    while not stop.is_set():
        for path in paths:
            try:
                response = await client.get(path, headers={"Accept": "application/json"})
            except httpx.TransportError:
                tally.broken += 1
                continue
            tally.reads += 1
            if response.status_code == 503:
                tally.unavailable += 1
                if not response.headers.get("retry-after", "").isdigit():
                    tally.unexpected.append(f"GET {path}: 503 without Retry-After")
            elif response.status_code != 200:
                tally.unexpected.append(f"GET {path}: {response.status_code} {response.text[:100]}")
        await asyncio.sleep(0.02)


async def test_no_acknowledged_write_is_lost_or_doubled_across_a_restart(
    fault_server: FaultServer, fault_live_server: str, fault_settings: Settings
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    targets = [await committed_organization(engine) for _ in range(3)]
    await engine.dispose()

    tally, stop = Tally(), asyncio.Event()
    clients = [httpx.AsyncClient(base_url=fault_live_server, timeout=30) for _ in range(WRITERS)]
    writers = [
        asyncio.create_task(_writer(c, n, regulator, targets, tally, stop))
        for n, c in enumerate(clients)
    ]
    reads = [f"/v1/organizations/{targets[0]}{tail}" for tail in ("/credit", "", "/violations")]
    readers = [asyncio.create_task(_reader(clients[0], reads, tally, stop)) for _ in range(2)]

    async def readyz() -> int:
        try:
            return (await clients[0].get("/readyz")).status_code
        except httpx.TransportError:
            return 0

    try:
        await wait_for(lambda: len(tally.acknowledged_at) >= BEFORE_STOP, "writes before the stop")
        await asyncio.to_thread(fault_server.stop)
        stopped_at = time.monotonic()
        await wait_for(lambda: tally.unavailable > 0, "a 503 while the database is down")
        await wait_for(lambda: _is(readyz(), 503), "/readyz to say 503 while the database is down")
        await asyncio.to_thread(fault_server.start)
        started_at = time.monotonic()
        await wait_for(lambda: _is(readyz(), 200), "/readyz to recover")
        await wait_for(
            lambda: sum(t > started_at for t in tally.acknowledged_at) >= AFTER_START,
            "writes after the restart",
        )
    finally:
        if not fault_server.running():
            fault_server.start()
        stop.set()
        await asyncio.gather(*writers, *readers)
        for client in clients:
            await client.aclose()

    owner = create_async_engine(fault_server.owner_url)
    try:
        async with owner.connect() as conn:
            usccs = [w.key for w in tally.sent if w.method == "PUT"]
            cases = [w.key for w in tally.sent if w.method == "POST"]
            organizations = {
                row[0]: row[1]
                for row in await conn.execute(
                    text(
                        "SELECT uscc, count(*) FROM organizations "
                        "WHERE uscc = ANY(:k) GROUP BY uscc"
                    ),
                    {"k": usccs},
                )
            }
            violations = {
                row[0]: (row[1], row[2])
                for row in await conn.execute(
                    text(
                        "SELECT case_no, count(*), min(id::text) FROM violations "
                        "WHERE case_no = ANY(:k) GROUP BY case_no"
                    ),
                    {"k": cases},
                )
            }
        async with AsyncSession(owner) as session:
            report = await audit_verify.verify(session)
    finally:
        await owner.dispose()

    acknowledged = [w for w in tally.sent if w.acknowledged is not None]
    found, lost, doubled = 0, [], []
    for write in acknowledged:
        assert write.acknowledged is not None
        if write.method == "PUT":
            present = organizations.get(write.key, 0) == 1
        else:
            count, row_id = violations.get(write.key, (0, ""))
            # once, and the very record the acknowledgement named (a replay, not a copy)
            present = count == 1 and write.acknowledged["id"] == row_id
        if present:
            found += 1
        else:
            lost.append(write.key)
    doubled = [k for k, n in organizations.items() if n > 1]
    doubled += [k for k, (n, _) in violations.items() if n > 1]
    first_after_restart = min((t for t in tally.acknowledged_at if t > started_at), default=None)
    recovery = None if first_after_restart is None else first_after_restart - started_at

    section = "faults without loss"
    figures.add(section, "writes sent", len(tally.sent))
    figures.add(section, "acknowledged", len(acknowledged))
    figures.add(section, "found", found)
    figures.add(section, "lost", len(lost))
    figures.add(section, "duplicated", len(doubled))
    figures.add(section, "reads", tally.reads)
    figures.add(section, "503 answers", tally.unavailable)
    figures.add(section, "broken connections", tally.broken)
    figures.add(section, "recovery ms", round((recovery or 0) * 1000))

    assert not tally.unexpected, tally.unexpected[:5]
    assert len(acknowledged) == len(tally.sent), "a write was never acknowledged"
    assert not lost, f"acknowledged but not found: {lost[:5]}"
    assert not doubled, f"stored twice: {doubled[:5]}"
    assert tally.unavailable > 0, "the outage was never seen: the test proved nothing"
    assert report.failure is None, report.failure
    assert report.leaves + report.unsequenced > 0
    assert recovery is not None, "no write succeeded after the restart"
    assert stopped_at < started_at


async def test_service_connections_have_a_statement_timeout(
    fault_server: FaultServer, fault_settings: Settings
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings)
    try:
        async with engine.connect() as conn:
            timeout = await conn.scalar(text("SHOW statement_timeout"))
            lock_timeout = await conn.scalar(text("SHOW lock_timeout"))
            idle = await conn.scalar(text("SHOW idle_in_transaction_session_timeout"))
            user = await conn.scalar(text("SELECT current_user"))
    finally:
        await engine.dispose()
    assert timeout == f"{fault_settings.statement_timeout_ms // 1000}s"
    assert lock_timeout == "5s"
    assert idle == "1min"
    assert user == "qcr_app"


PID = text("SELECT pg_backend_pid()")


async def _pooled_connection_dropped(server: FaultServer, engine: AsyncEngine) -> int:
    """A connection of `engine`'s pool (of one) whose server session is then
    terminated while it sits in the pool; its backend's pid."""
    async with engine.connect() as conn:
        pid = await conn.scalar(PID)
    owner = create_async_engine(server.owner_url)
    try:
        async with owner.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
    finally:
        await owner.dispose()
    assert isinstance(pid, int)
    return pid


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    fault_server: FaultServer, fault_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle longer than IDLE_PING_SECONDS is pinged at checkout: a
    dead one is replaced there, and the caller never sees it."""
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=1)
    try:
        pid = await _pooled_connection_dropped(fault_server, engine)
        async with engine.connect() as conn:
            assert await conn.scalar(PID) != pid
    finally:
        await engine.dispose()


async def test_a_connection_dropped_while_in_use_fails_once_as_unavailable(
    fault_server: FaultServer, fault_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection in steady use is not pinged (no round trip per request): if
    the server dropped it meanwhile, its statement fails as a 503 error would
    (Retry-After), the pool is invalidated, and the next checkout reconnects."""
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=1)
    try:
        pid = await _pooled_connection_dropped(fault_server, engine)
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await conn.scalar(PID)
        assert failed.value.connection_invalidated
        assert errors.is_unavailable(failed.value)
        async with engine.connect() as conn:
            assert await conn.scalar(PID) != pid
    finally:
        await engine.dispose()
