"""One live server for the tests that need a real socket (browser and fault tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import Database
from app.core.settings import Settings
from app.main import create_app


def children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (from /proc), in pid order."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return sorted(found)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_app(engine: AsyncEngine, settings: Settings) -> Iterator[str]:
    """The app on 127.0.0.1 (uvicorn in a thread) over `engine`; yields its base URL.
    The engine is disposed on the server's own loop, which owns its connections."""
    app = create_app(settings, database=Database(engine))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )

    async def serve() -> None:
        try:
            await server.serve()
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
