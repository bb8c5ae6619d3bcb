"""The webhook dispatcher of `qcr serve`, in a process of its own at a lower CPU
priority (issue #16: delivery load leaves the hot paths' figures within 10 %).

In the serving process the dispatcher shared one event loop with the requests:
sending 15,000 signed deliveries a second is a core's worth of work, and every
callback of it delayed a request's. As a child process at `nice` +10 (by
default; `QCR_WEBHOOK_NICE`) it gets what the requests leave: the kernel runs it
when the serving processes and PostgreSQL are idle or waiting, and deliveries
catch up when the load falls (they are retried for days, SPEC §11; nothing in
them is urgent to the millisecond).

`qcr serve` starts one (`spawn`) and stops it when it stops; the child also
stops within `ORPHAN_CHECK_SECONDS` when its parent dies without telling it
(SIGKILL), so that its advisory lock goes and another replica's dispatcher
leads (SPEC §11: one active per deployment).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import structlog

from app.core.database import make_engine, resolve_urls
from app.core.logging import configure as configure_logging
from app.core.settings import Settings
from app.partners.dispatcher import Dispatcher
from app.partners.pace import Pace, serving_cpu

log = structlog.get_logger()

ORPHAN_CHECK_SECONDS = 0.5


def spawn() -> subprocess.Popen[bytes]:
    """`python -m app dispatch` for this process, with its environment (so its
    settings); its output goes where ours does."""
    command = [sys.executable, "-m", "app", "dispatch", "--parent", str(os.getpid())]
    return subprocess.Popen(command)  # noqa: S603 - our own interpreter and module


def stop(child: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout`."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run(settings: Settings, parent: int) -> int:
    """The child: lower its priority, then dispatch until told to stop or orphaned."""
    configure_logging(json=settings.log_json)
    os.nice(settings.webhook_nice)
    import uvloop

    return uvloop.run(_dispatch(settings, parent))


async def _dispatch(settings: Settings, parent: int) -> int:
    urls = await asyncio.to_thread(resolve_urls, settings)
    engine = make_engine(urls.service, settings, pool_size=4)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    pace = Pace(
        serving_cpu(parent, os.getpid()),
        busy_rate=settings.webhook_busy_rate,
        busy_cpu=settings.webhook_busy_cpu,
    )
    watches = [
        asyncio.create_task(_cancel_when_orphaned(task, parent)),
        asyncio.create_task(pace.watch()),
    ]
    log.info("webhook_dispatcher_process", nice=os.nice(0), parent=parent)
    try:
        await Dispatcher(engine, settings, pace=pace).run()
    except asyncio.CancelledError:
        pass
    finally:
        for watch in watches:
            watch.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
        await engine.dispose()
    return 0


async def _cancel_when_orphaned(task: asyncio.Task[object], parent: int) -> None:
    # No event says that a parent died: its child is re-parented, which getppid sees.
    while os.getppid() == parent:  # noqa: ASYNC110
        await asyncio.sleep(ORPHAN_CHECK_SECONDS)
    log.warning("webhook_dispatcher_orphaned", parent=parent)
    task.cancel()
