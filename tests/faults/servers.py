"""`qcr serve` processes against the fault tests' own PostgreSQL, as a deployment
runs them: each with its own caches, scan buffer and change watch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.core.settings import Settings
from tests.conftest import ROOT
from tests.faults.conftest import FaultServer
from tests.live import free_port
from tests.waiting import wait_for


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str

    def output(self) -> str:
        if self.process.stdout is None or self.process.poll() is None:
            return ""
        return self.process.stdout.read().decode(errors="replace")

    async def stop(self) -> int:
        """SIGTERM (a graceful drain), then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 30)


def environment(server: FaultServer, settings: Settings, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": server.service_url,
        "QCR_MIGRATION_DATABASE_URL": server.owner_url,
        "QCR_CODE_SECRET": settings.code_secret or "",
        "QCR_AUDIT_SIGNING_KEY": settings.audit_signing_key or "",
        "QCR_FOUR_EYES": "false",
        "QCR_DATA_DIR": str(data_dir),
        "QCR_LOG_JSON": "true",
    }


async def wait_until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    """Up, and its change watch confirmed (the caches answer from memory only then)."""
    async with httpx.AsyncClient(base_url=base) as client:

        async def watching() -> bool:
            assert process.poll() is None, "the server exited at start-up"
            try:
                metrics = await client.get("/metrics")
            except httpx.TransportError:
                return False
            return metrics.status_code == 200 and _pinged(metrics.text)

        # A loaded machine starts slowly.
        await wait_for(watching, "the server to come up, its change watch confirmed", timeout=90)


def _pinged(metrics: str) -> bool:
    """Whether the change watch has answered a ping (`qcr_change_watch_pings_total`)."""
    for line in metrics.splitlines():
        if line.startswith("qcr_change_watch_pings_total "):
            return float(line.split()[1]) >= 1
    return False


@asynccontextmanager
async def serving(
    server: FaultServer,
    settings: Settings,
    data_dir: Path,
    count: int = 2,
    extra: dict[str, str] | None = None,
) -> AsyncIterator[list[Served]]:
    """`count` server processes (no migration: the fault server is at head), with
    `extra` environment if given."""
    env = environment(server, settings, data_dir) | (extra or {})
    started: list[Served] = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(  # noqa: ASYNC220 - started once, then polled
                [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            started.append(Served(process, f"http://127.0.0.1:{port}"))
        for served in started:
            try:
                await wait_until_ready(served.base, served.process)
            except AssertionError:
                served.process.kill()
                raise AssertionError(served.process.communicate(timeout=10)[0][-3000:]) from None
        yield started
    finally:
        for served in started:
            if served.process.poll() is None:
                served.process.kill()
                served.process.wait(10)


async def cli(
    server: FaultServer, settings: Settings, data_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`python -m app …` against the fault server."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=environment(server, settings, data_dir),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
