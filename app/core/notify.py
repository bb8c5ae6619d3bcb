"""Change notifications between processes and replicas: PostgreSQL NOTIFY in the
writer's transaction, LISTEN in every serving process.

Writers call `notify(session, topic, key)` (e.g. `recall`, the GTIN) where they
write; PostgreSQL delivers it to every listener when — and only if — the
transaction commits. Every serving process runs one `Watch`: a connection of its
own to the primary that LISTENs on `CHANNEL` and hands each notification to the
caches subscribed to its topic.

How the 1-second bounds hold: the watch pings its connection every
`PING_SECONDS`. A notification committed before a ping was sent reaches this
process before that ping's answer, so once a ping sent at time t has returned,
every change committed before t has been applied to the caches. `confirmed()`
is true while the last such t is less than `FRESH_SECONDS` ago; a cache answers
from memory only then, and otherwise goes to the database (the fallback while
the connection is down or slow). After a reconnect, notifications sent meanwhile
are lost, so every subscriber is told to forget everything (`on_reset`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import ColumnElement, func, literal, text
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("qcr.notify")

CHANNEL = "qcr_changes"
PING_SECONDS = 0.2
FRESH_SECONDS = 0.8  # < 1 s: the bound SPEC §1 and §6 promise, with a margin
MAX_PAYLOAD = 7000  # PostgreSQL refuses payloads of 8000 bytes or more
PINGS = Counter(
    "qcr_change_watch_pings",
    "Pings answered on the change watch; each confirms every change committed before it",
)


async def notify(session: AsyncSession, topic: str, key: str) -> None:
    """Tell every process, when this transaction commits, that `topic` `key` changed."""
    payload = f"{topic}:{key}"[:MAX_PAYLOAD]
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def notify_each(topic: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """`notify` as a column of a statement, for each row it selects (`key` the
    row's key as text): a write and its notifications in one round trip."""
    return func.pg_notify(CHANNEL, func.left(literal(f"{topic}:") + key, MAX_PAYLOAD))


class Watch:
    """One LISTEN connection per process; see the module docstring."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._resets: list[Callable[[], None]] = []
        self._confirmed_at = float("-inf")

    def subscribe(self, topic: str, callback: Callable[[str], None]) -> None:
        self._subscribers[topic].append(callback)

    def on_reset(self, callback: Callable[[], None]) -> None:
        self._resets.append(callback)

    def confirmed(self) -> bool:
        """Every change committed more than FRESH_SECONDS ago has been applied."""
        return time.monotonic() - self._confirmed_at < FRESH_SECONDS

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        topic, _, key = payload.partition(":")
        for callback in self._subscribers.get(topic, ()):
            callback(key)

    def _reset(self) -> None:
        self._confirmed_at = float("-inf")
        for callback in self._resets:
            callback()

    async def run(self) -> None:
        """Listen, ping, reconnect; until cancelled."""
        import asyncpg

        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    self.dsn, timeout=5, server_settings={"application_name": "qcr-watch"}
                )
                await connection.add_listener(CHANNEL, self._received)
                self._reset()  # whatever was missed before LISTEN took effect
                while True:
                    sent = time.monotonic()
                    await asyncio.wait_for(connection.execute("SELECT 1"), timeout=1)
                    await asyncio.sleep(0)  # let queued notifications run first
                    self._confirmed_at = sent
                    PINGS.inc()
                    await asyncio.sleep(PING_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._reset()
                log.warning("watch_reconnecting", error=type(exc).__name__)
                await asyncio.sleep(0.5)
            finally:
                if connection is not None:
                    connection.terminate()
