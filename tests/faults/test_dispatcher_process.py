"""The webhook dispatcher of `qcr serve` runs in a child process at a lower CPU
priority (app/partners/process.py). Two `qcr serve` processes: one child leads
and delivers; killing its parent with SIGKILL (no chance to stop the child)
ends the orphaned child, and the other server's child takes over and delivers
what is recorded next. SIGTERM stops a server and its child."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from app.core.database import make_engine
from app.core.settings import Settings
from tests.conftest import ROOT
from tests.factories import committed_key, committed_organization
from tests.faults.conftest import FaultServer
from tests.faults.servers import environment, wait_until_ready
from tests.live import children, free_port
from tests.partners.conftest import Receiver
from tests.partners.helpers import open_recall, subscribe
from tests.waiting import wait_for


def _nice(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_the_dispatcher_process_follows_its_server(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    partner = await committed_key(engine, "partner")
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    await engine.dispose()
    receiver = Receiver()
    await receiver.start()
    env = environment(fault_server, fault_settings, tmp_path) | {
        "QCR_WEBHOOK_ALLOW_PRIVATE": "true",
        "QCR_WEBHOOK_ALLOW_HTTP": "true",
    }
    servers: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for n in range(2):
            port, log = free_port(), tmp_path / f"serve-{n}.log"
            process = subprocess.Popen(  # noqa: ASYNC220 - started once, then polled
                [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            servers.append((process, f"http://127.0.0.1:{port}", log))
        for process, base, _ in servers:
            await wait_until_ready(base, process)
        spawned = {process.pid: children(process.pid) for process, _, _ in servers}
        assert all(len(c) == 1 for c in spawned.values()), spawned
        # The child lowers its own priority once started (imports first).
        await wait_for(
            lambda: {_nice(c[0]) for c in spawned.values()} == {fault_settings.webhook_nice},
            "the dispatcher processes to lower their priority",
        )

        def leader() -> int | None:
            for process, _, log in servers:
                if b"webhook_dispatcher_leading" in log.read_bytes():
                    return servers.index((process, _, log))
            return None

        await wait_for(lambda: leader() is not None, "a dispatcher to lead")
        lead = leader()
        assert lead is not None
        other = 1 - lead
        async with httpx.AsyncClient(base_url=servers[other][1], timeout=30) as client:
            await subscribe(client, partner, receiver.url, ["recall.opened"])
            await open_recall(client, regulator, uscc)
            await receiver.wait_for(1, within=30)

            leading_child = spawned[servers[lead][0].pid][0]
            servers[lead][0].send_signal(signal.SIGKILL)
            await asyncio.to_thread(servers[lead][0].wait, 10)
            await wait_for(lambda: not _alive(leading_child), "the orphaned dispatcher to end")

            await open_recall(client, regulator, uscc)
            await receiver.wait_for(2, within=30)  # the other's child took over
        assert b"webhook_dispatcher_leading" in servers[other][2].read_bytes()

        survivor, survivor_child = servers[other][0], spawned[servers[other][0].pid][0]
        survivor.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(survivor.wait, 30) == 0
        await wait_for(lambda: not _alive(survivor_child), "the dispatcher to stop with serve")
    finally:
        await receiver.stop()
        for process, _, _ in servers:
            if process.poll() is None:
                process.kill()
                process.wait(10)  # its child ends by itself, orphaned
