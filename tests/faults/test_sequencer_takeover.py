"""One sequencer per deployment: two `qcr serve` processes, one leads; killing it
(SIGKILL, in the middle of whatever batch it was doing) loses nothing, and the
other takes over and sequences every entry."""

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
from tests.waiting import wait_for


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

        async def someone_leads() -> bool:
            return await _leads(first_base) or await _leads(second_base)

        await wait_for(someone_leads, "a process to lead the sequencer")
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
        await wait_for(lambda: len(written) >= 5 or writer.done(), "writes before the kill")
        leader.send_signal(signal.SIGKILL)  # whatever batch it was in is rolled back
        killed_at = time.monotonic()
        await asyncio.to_thread(leader.wait, 10)
        at_kill = len(written)
        await wait_for(
            lambda: len(written) >= at_kill + 5 or writer.done(), "writes after the kill"
        )
        stop.set()
        await writer  # raises what failed in it
        # No wall-clock bound: the time it took is a figure, not an assertion.
        await wait_for(lambda: _leads(follower_base), "the other process to take over")
        took_over = time.monotonic() - killed_at
        counts: tuple[int, int] = (0, 0)

        async def all_sequenced() -> bool:
            nonlocal counts
            counts = await _unsequenced(fault_server.owner_url)
            return counts[0] == counts[1]

        await wait_for(all_sequenced, "every entry sequenced by the new leader")
        entries = counts[0]
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
