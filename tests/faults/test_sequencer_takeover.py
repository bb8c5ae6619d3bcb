"""One sequencer per deployment: two `qcr serve` processes, one leads; killing it
(SIGKILL, in the middle of whatever batch it was doing) loses nothing, and the
other takes over and sequences every entry, within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.audit import verify
from app.core.database import make_engine
from app.core.settings import Settings
from tests import figures
from tests.conftest import ROOT
from tests.factories import committed_key, random_uscc
from tests.faults.conftest import FaultServer
from tests.live import free_port

TAKEOVER_BOUND = 5.0  # seconds: election every 0.5 s, batches every 0.1 s


def _serve(
    server: FaultServer, settings: Settings, data_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": server.service_url,
        "QCR_MIGRATION_DATABASE_URL": server.owner_url,
        "QCR_CODE_SECRET": settings.code_secret or "",
        "QCR_AUDIT_SIGNING_KEY": settings.audit_signing_key or "",
        "QCR_DATA_DIR": str(data_dir),
        "QCR_LOG_JSON": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / f"serve-{port}.log").open("wb"),
    )
    return process, f"http://127.0.0.1:{port}"


async def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # two servers starting on a busy machine
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited at start-up"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the server did not come up")


async def _leads(base: str) -> bool:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        metrics = (await client.get("/metrics")).text
    return "qcr_audit_sequencer_leader 1.0" in metrics


async def _unsequenced(owner_url: str) -> tuple[int, int]:
    engine = create_async_engine(owner_url)
    try:
        async with engine.connect() as conn:
            entries = await conn.scalar(text("SELECT count(*) FROM audit_entries"))
            sequenced = await conn.scalar(text("SELECT count(*) FROM audit_log"))
    finally:
        await engine.dispose()
    return int(entries or 0), int(sequenced or 0)


async def test_killing_the_sequencer_loses_nothing_and_another_process_takes_over(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    await engine.dispose()
    first, first_base = _serve(fault_server, fault_settings, tmp_path)
    second, second_base = _serve(fault_server, fault_settings, tmp_path)
    processes = [first, second]
    try:
        await _wait_until_up(first_base, first)
        await _wait_until_up(second_base, second)
        deadline = time.monotonic() + 10
        while not (await _leads(first_base) or await _leads(second_base)):
            assert time.monotonic() < deadline, "no process leads the sequencer"
            await asyncio.sleep(0.1)
        leader, _, follower_base = (
            (first, second, second_base)
            if await _leads(first_base)
            else (second, first, first_base)
        )
        assert not await _leads(follower_base)

        stop = asyncio.Event()
        written: list[str] = []

        async def write() -> None:
            async with httpx.AsyncClient(base_url=follower_base, timeout=30) as client:
                while not stop.is_set():
                    uscc = random_uscc()
                    response = await client.put(
                        f"/v1/organizations/{uscc}",
                        json={"name": "接管测试公司"},
                        headers=regulator,
                    )
                    assert response.status_code == 201, response.text
                    written.append(uscc)

        writer = asyncio.create_task(write())
        await asyncio.sleep(1.0)
        leader.send_signal(signal.SIGKILL)  # whatever batch it was in is rolled back
        killed_at = time.monotonic()
        await asyncio.to_thread(leader.wait, 10)
        await asyncio.sleep(1.0)
        stop.set()
        await writer
        while not await _leads(follower_base):
            assert time.monotonic() - killed_at < TAKEOVER_BOUND, "nobody took over"
            await asyncio.sleep(0.1)
        took_over = time.monotonic() - killed_at
        while True:
            entries, sequenced = await _unsequenced(fault_server.owner_url)
            if entries == sequenced:
                break
            assert time.monotonic() - killed_at < TAKEOVER_BOUND + 5, (entries, sequenced)
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=follower_base) as client:
            head = (await client.get("/v1/audit/tree-head")).json()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()

    figures.add("sequencer takeover", "ms to take over", round(took_over * 1000))
    figures.add("sequencer takeover", "writes during the kill", len(written))
    assert written, "nothing was written while the leader died"
    assert head["tree_size"] == entries
    owner = create_async_engine(fault_server.owner_url)
    try:
        async with AsyncSession(owner) as session:
            report = await verify.verify(session)
    finally:
        await owner.dispose()
    assert report.failure is None, report.failure
    assert report.unsequenced == 0 and report.leaves == entries
