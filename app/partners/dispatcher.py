"""The webhook dispatcher, inside `qcr serve`: one active per deployment, elected
by a PostgreSQL advisory lock held on a dedicated connection (another replica
takes over when that connection goes).

Each subscription with due deliveries gets a task of its own, with its own HTTP
client, so a slow or dead endpoint never delays another (nor any request: the
request path only writes outbox rows). Within a subscription, each
organization's oldest pending *sequenced* event (by the journal sequencer's feed
`seq`) is the only one of that organization sent (`DISTINCT ON (uscc)`), so
events arrive in order per organization, while different organizations go out
concurrently. A delivery is marked only after
the answer: a crash re-sends it (at least once, the same `webhook-id`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from app.core.settings import Settings
from app.partners import delivery, outbox, subscriptions
from app.partners.delivery import Outcome, RetryPolicy
from app.partners.targets import TargetRules

log = structlog.get_logger("qcr.webhooks")
DISPATCHER_LOCK_ID = 0x51C4_0016
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Only sequenced events go out: the sequencer's `seq` (change_sequence) orders
# each organization's events, names them (`evt_{seq}`) and is their `sequence`.
DUE_HEADS = text(
    "SELECT h.event_id, h.seq, h.attempts, h.enqueued_at, e.type, e.uscc, e.time, e.data "
    "FROM (SELECT DISTINCT ON (d.uscc) d.event_id, q.seq, d.uscc, d.attempts, "
    "        d.enqueued_at, d.next_attempt_at "
    "      FROM webhook_deliveries d JOIN change_sequence q ON q.event_id = d.event_id "
    "      WHERE d.subscription_id = :sub AND d.status = 'pending' "
    "      ORDER BY d.uscc, q.seq) h "
    "JOIN webhook_events e ON e.event_id = h.event_id "
    "WHERE h.next_attempt_at <= :now ORDER BY h.seq LIMIT :limit"
)
DUE_SUBSCRIPTIONS = text(
    "SELECT DISTINCT d.subscription_id FROM webhook_deliveries d "
    "JOIN webhook_subscriptions s ON s.id = d.subscription_id "
    "JOIN change_sequence q ON q.event_id = d.event_id "
    "WHERE d.status = 'pending' AND s.status = 'enabled' AND d.next_attempt_at <= :now"
)
SUBSCRIPTION = text(
    "SELECT url, status, secret, previous_secret, previous_secret_expires_at "
    "FROM webhook_subscriptions WHERE id = :sub"
)
DELIVERED = text(
    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, "
    "last_attempt_at = :now, delivered_at = :now, last_status = :status, last_error = NULL "
    "WHERE subscription_id = :sub AND event_id = :event_id AND status = 'pending'"
)
RETRY = text(
    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = :now, "
    "last_status = :status, last_error = :error, next_attempt_at = :next "
    "WHERE subscription_id = :sub AND event_id = :event_id AND status = 'pending'"
)
FAILED = text(
    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, "
    "last_attempt_at = :now, last_status = :status, last_error = :error "
    "WHERE subscription_id = :sub AND event_id = :event_id AND status = 'pending'"
)
HEALTHY = text(
    "UPDATE webhook_subscriptions SET last_success_at = :now, failing_since = NULL WHERE id = :sub"
)
FAILING = text(
    "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, :now) WHERE id = :sub"
)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utc_now,
        poll_interval: float = 1.0,
        election_interval: float = 5.0,
        batch: int = 200,
        concurrency: int = 16,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.rules = TargetRules(settings.webhook_allow_private, settings.webhook_allow_http)
        self.source = settings.public_base_url.rstrip("/") + "/v1"
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.poll_interval = poll_interval
        self.election_interval = election_interval
        self.batch = batch
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        self.workers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.leading = asyncio.Event()

    async def run(self) -> None:
        """Forever: win the election, then dispatch until the lock's connection goes."""
        while True:
            try:
                async with self.engine.connect() as lock_connection:
                    got = await lock_connection.scalar(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": DISPATCHER_LOCK_ID}
                    )
                    await lock_connection.commit()  # idle, not idle in transaction
                    if got:
                        log.info("webhook_dispatcher_leading")
                        try:
                            await self._lead(lock_connection)
                        finally:
                            # Never hand a connection holding the lock back to the
                            # pool: closing it is what releases the lock.
                            await lock_connection.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: stand for election again
                log.warning("webhook_dispatcher_interrupted", error=type(exc).__name__)
            finally:
                await self._stop_workers()
            await asyncio.sleep(self.election_interval)

    async def _lead(self, lock_connection: AsyncConnection) -> None:
        self.leading.set()
        try:
            while True:
                await lock_connection.scalar(text("SELECT 1"))  # still ours?
                await lock_connection.commit()
                await self.tick()
                await asyncio.sleep(self.poll_interval)
        finally:
            self.leading.clear()

    async def tick(self) -> None:
        """Disable endpoints past the failure window; start a task per due subscription."""
        now = self.clock()
        async with self.sessionmaker() as session:
            await subscriptions.disable_failing(session, now, self.policy.disable_after)
            due = (await session.scalars(DUE_SUBSCRIPTIONS, {"now": now})).all()
            await session.commit()
        for finished in [k for k, t in self.workers.items() if t.done()]:
            del self.workers[finished]
        for subscription_id in due:
            if subscription_id not in self.workers:
                self.workers[subscription_id] = asyncio.create_task(
                    self._work(subscription_id), name=f"webhooks-{subscription_id}"
                )

    async def _stop_workers(self) -> None:
        for task in self.workers.values():
            task.cancel()
        await asyncio.gather(*self.workers.values(), return_exceptions=True)
        self.workers.clear()

    async def _work(self, subscription_id: uuid.UUID) -> None:
        try:
            await self.drain(subscription_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # retried at the next tick
            log.warning(
                "webhook_worker_failed",
                subscription_id=str(subscription_id),
                error=type(exc).__name__,
            )

    async def drain(self, subscription_id: uuid.UUID) -> None:
        """Send the subscription's due events until none is due."""
        client = delivery.make_client(self.rules, self.policy, self.concurrency)
        limit = asyncio.Semaphore(self.concurrency)
        try:
            while True:
                now = self.clock()
                async with self.sessionmaker() as session:
                    sub = (await session.execute(SUBSCRIPTION, {"sub": subscription_id})).first()
                    rows = (
                        await session.execute(
                            DUE_HEADS, {"sub": subscription_id, "now": now, "limit": self.batch}
                        )
                    ).all()
                    await session.commit()
                if sub is None or sub.status != "enabled" or not rows:
                    return
                secrets = [sub.secret]
                if sub.previous_secret and sub.previous_secret_expires_at > now:
                    secrets.append(sub.previous_secret)

                async def one(row: Any, url: str = sub.url, keys: list[str] = secrets) -> Outcome:
                    async with limit:
                        event = delivery.cloud_event(
                            source=self.source,
                            event_id=outbox.event_id(row.seq),
                            type=row.type,
                            uscc=row.uscc,
                            at=row.time,
                            seq=row.seq,
                            data=row.data,
                        )
                        return await delivery.send(client, url, keys, event, self.policy)

                outcomes = await asyncio.gather(*(one(r) for r in rows))
                await self._record(subscription_id, rows, outcomes)
        finally:
            await client.aclose()

    async def _record(self, subscription_id: uuid.UUID, rows: Any, outcomes: list[Outcome]) -> None:
        """Mark a batch's outcomes, one statement per kind (executemany)."""
        now = self.clock()
        delivered: list[dict[str, Any]] = []
        retry: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            key = {
                "sub": subscription_id,
                "event_id": row.event_id,
                "now": now,
                "status": outcome.status,
            }
            if outcome.ok:
                delivered.append(key)
                continue
            after = self.policy.next_attempt(row.enqueued_at, now, row.attempts + 1, self.rng)
            if after is None:
                failed.append(key | {"error": outcome.error})
                log.warning(
                    "webhook_event_failed",
                    subscription_id=str(subscription_id),
                    seq=row.seq,
                    error=outcome.error,
                )
            else:
                retry.append(key | {"error": outcome.error, "next": after})
        async with self.sessionmaker() as session:
            for statement, params in ((DELIVERED, delivered), (RETRY, retry), (FAILED, failed)):
                if params:
                    await session.execute(statement, params)
            if delivered:
                await session.execute(HEALTHY, {"sub": subscription_id, "now": now})
            elif outcomes:  # no success in the whole batch
                await session.execute(FAILING, {"sub": subscription_id, "now": now})
                await subscriptions.disable_failing(session, now, self.policy.disable_after)
            await session.commit()


def start(engine: AsyncEngine, settings: Settings) -> asyncio.Task[None]:
    """The dispatcher of `qcr serve` (cancel the task to stop it)."""
    return asyncio.create_task(Dispatcher(engine, settings).run(), name="webhook-dispatcher")
