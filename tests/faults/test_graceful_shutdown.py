"""SIGTERM drains: `python -m app serve` finishes the requests in flight, then exits 0.

The server runs as a subprocess against the dedicated PostgreSQL. A request (a CSV
import) is in flight — its transaction has written, as pg_stat_activity shows —
when SIGTERM arrives; new connections must then be refused, the request must
complete with 2xx, its rows must be there, and the process must exit with 0. No
fixed sleep: every step waits for its condition under a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.core.clock import today
from app.core.database import make_engine
from app.core.settings import Settings
from tests.conftest import ROOT
from tests.factories import committed_key, committed_organization
from tests.faults.conftest import FaultServer
from tests.live import free_port
from tests.waiting import wait_for

ROWS = 1000  # in flight for a good part of a second (caught by a condition, not a sleep; at 80
# rows a faster write path finished between two 50 ms polls), well inside the 20 s drain


def _csv(uscc: str, batch: str) -> bytes:
    lines = ["uscc,case_no,authority,decided_on,category,severity,public_summary"]
    on = today().isoformat()
    lines += [f"{uscc},停机{batch}-{i},停机测试局,{on},产品质量,minor,测试" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


async def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    async def up() -> bool:
        assert process.poll() is None, "the server exited at start-up"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                return (await client.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_for(up, "the server to come up")


async def _refused(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as late:
            return (await late.get("/healthz")).status_code != 200
    except httpx.TransportError:
        return True


async def _writing(observer: AsyncConnection) -> bool:
    """A service session is inside a transaction that has written (it has an xid)."""
    writing = await observer.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'qcr' "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        )
    )
    await observer.rollback()
    return bool(writing)


async def test_sigterm_lets_the_request_in_flight_finish(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    await engine.dispose()

    port = free_port()
    env = os.environ | {
        "DATABASE_URL": fault_server.service_url,
        "QCR_MIGRATION_DATABASE_URL": fault_server.owner_url,
        "QCR_CODE_SECRET": fault_settings.code_secret or "",
        "QCR_AUDIT_SIGNING_KEY": fault_settings.audit_signing_key or "",
        "QCR_DATA_DIR": str(tmp_path),
        "QCR_LOG_JSON": "true",
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, then awaited by polling
        [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    batch = uuid.uuid4().hex[:8]
    holder = create_async_engine(fault_server.owner_url)
    try:
        await _wait_until_up(base, process)
        async with (
            holder.connect() as observer,
            httpx.AsyncClient(base_url=base, timeout=60) as client,
        ):
            in_flight = asyncio.create_task(
                client.post(
                    "/v1/imports/violations?mode=atomic",
                    content=_csv(uscc, batch),
                    headers=regulator | {"Content-Type": "text/csv"},
                )
            )
            # In flight: the server's transaction has written its first rows.
            await wait_for(lambda: _writing(observer), "the import to be under way")
            assert not in_flight.done(), "the request was not slow enough to be in flight"
            process.send_signal(signal.SIGTERM)
            await wait_for(lambda: _refused(base), "new connections to be refused")
            response = await in_flight
        exit_code = await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
        await holder.dispose()
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""

    assert response.status_code == 200, (response.text, output[-6000:])
    assert response.json()["imported"] == ROWS
    assert exit_code == 0, output[-2000:]
    owner = create_async_engine(fault_server.owner_url)
    try:
        async with owner.connect() as conn:
            stored = await conn.scalar(
                text("SELECT count(*) FROM violations WHERE case_no LIKE :p"),
                {"p": f"停机{batch}-%"},
            )
    finally:
        await owner.dispose()
    assert stored == ROWS
