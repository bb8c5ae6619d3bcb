"""The webhook dispatcher, inside `qcr serve`: one active per deployment, elected
by a PostgreSQL advisory lock held on a dedicated connection (another replica
takes over when that connection goes).

Each subscription with due deliveries gets a task of its own, with its own HTTP
client (its connections kept alive from one request to the next), so a slow or
dead endpoint never delays another (nor any request: the request path only
writes outbox rows). The task reads a batch of the subscription's pending
*sequenced* events, oldest first by the journal sequencer's feed `seq`, leaving
out every organization whose events wait for a retry; it resolves and checks the
endpoint's address once for the batch (SPEC §11's "at every delivery", per
batch: the batch's connections go to the checked address); then it sends the
organizations concurrently and each one's events one after another, so events
arrive in order per organization, an organization stopping at its first failure.
The outcomes are marked after the answers, in a few statements per batch: a
crash re-sends what was sent but not marked (at least once, the same
`webhook-id`). An event's body is the same for every subscriber: built once.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from app.core.errors import Unprocessable
from app.core.settings import Settings
from app.partners import delivery, outbox, signing, subscriptions
from app.partners.delivery import Outcome, RetryPolicy
from app.partners.pace import Pace
from app.partners.targets import TargetRefused, TargetRules

log = structlog.get_logger("qcr.webhooks")
DISPATCHER_LOCK_ID = 0x51C4_0016
Clock = Callable[[], dt.datetime]
BODIES_KEPT = 50_000


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Only sequenced events go out: the sequencer's `seq` (change_sequence) orders
# each organization's events, names them (`evt_{seq}`) and is their `sequence`.
# A batch is the subscription's oldest pending events by `seq`, leaving out every
# organization with an event waiting for its retry time (its later events wait
# behind it); the rows of one organization go out one after another, in order.
DUE = text(
    "SELECT d.event_id, q.seq, d.attempts, d.enqueued_at, e.type, e.uscc, e.time, e.data "
    "FROM webhook_deliveries d JOIN change_sequence q ON q.event_id = d.event_id "
    "JOIN webhook_events e ON e.event_id = d.event_id "
    "WHERE d.subscription_id = :sub AND d.status = 'pending' AND d.uscc NOT IN ("
    "  SELECT w.uscc FROM webhook_deliveries w WHERE w.subscription_id = :sub "
    "  AND w.status = 'pending' AND w.next_attempt_at > :now) "
    "ORDER BY q.seq LIMIT :limit"
)
# Enabled subscriptions with a due event and no worker yet (each stops at its
# first match).
DUE_SUBSCRIPTIONS = text(
    "SELECT s.id FROM webhook_subscriptions s "
    "WHERE s.status = 'enabled' AND s.id <> ALL(CAST(:running AS uuid[])) AND EXISTS ("
    "  SELECT 1 FROM webhook_deliveries d JOIN change_sequence q ON q.event_id = d.event_id "
    "  WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.next_attempt_at <= :now)"
)
SUBSCRIPTION = text(
    "SELECT url, status, secret, previous_secret, previous_secret_expires_at "
    "FROM webhook_subscriptions WHERE id = :sub"
)
# A batch's successes in one statement.
DELIVERED = text(
    "UPDATE webhook_deliveries d SET status = 'delivered', attempts = d.attempts + 1, "
    "last_attempt_at = :now, delivered_at = :now, last_status = u.status, last_error = NULL "
    "FROM unnest(CAST(:event_ids AS bigint[]), CAST(:statuses AS integer[])) "
    "AS u(event_id, status) "
    "WHERE d.subscription_id = :sub AND d.event_id = u.event_id AND d.status = 'pending'"
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
        batch: int = 1000,
        concurrency: int = 32,
        rng: random.Random | None = None,
        pace: Pace | None = None,
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
        self.pace = pace  # None: as fast as it can
        self.workers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.leading = asyncio.Event()
        self.ssl = httpx.create_ssl_context()  # loading the CA bundle is slow: once
        # Each event's body (its CloudEvent, the same for every subscriber), by
        # seq, built once for all the subscriptions sending it at about that time.
        self.bodies: dict[int, bytes] = {}

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
            for finished in [k for k, t in self.workers.items() if t.done()]:
                del self.workers[finished]
            running = list(self.workers)
            due = (await session.scalars(DUE_SUBSCRIPTIONS, {"now": now, "running": running})).all()
            await session.commit()
        for subscription_id in due:
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
        """Send the subscription's due events, a batch at a time, until none is due."""
        target: delivery.Target | None = None
        try:
            while True:
                now = self.clock()
                async with self.sessionmaker() as session:
                    sub = (await session.execute(SUBSCRIPTION, {"sub": subscription_id})).first()
                    rows = (
                        await session.execute(
                            DUE, {"sub": subscription_id, "now": now, "limit": self.batch}
                        )
                    ).all()
                    await session.commit()
                if sub is None or sub.status != "enabled" or not rows:
                    return
                if target is None or target.url != sub.url:
                    if target is not None:
                        target.close()
                    try:
                        target = delivery.Target(sub.url, self.rules, self.policy, self.ssl)
                    except Unprocessable as exc:
                        # A URL that registration would refuse today (stored before
                        # a check, or the HTTP flag since turned off): its events take
                        # the path of a refused target (retries, then failed).
                        target = None
                        refused = _refused(rows, exc.detail)
                        await self._record(subscription_id, rows, refused)
                        continue
                secrets = [sub.secret]
                if sub.previous_secret and sub.previous_secret_expires_at > now:
                    secrets.append(sub.previous_secret)
                outcomes = await self._send(target, signing.Signer(secrets), rows)
                await self._record(subscription_id, rows, outcomes)
        finally:
            if target is not None:
                target.close()

    async def _send(
        self, target: delivery.Target, signer: signing.Signer, rows: Sequence[Any]
    ) -> dict[int, Outcome]:
        """Send a batch: its organizations concurrently (`concurrency` at a time),
        each one's events one after another in `seq` order, stopping at the first
        failure (the rest wait for its retry). The outcomes of the events sent."""
        chains: dict[str, list[Any]] = {}
        for row in rows:
            chains.setdefault(row.uscc, []).append(row)
        try:
            await target.check()  # the address, resolved and checked for this batch
        except TargetRefused as exc:
            return _refused(rows, str(exc))
        waiting = collections.deque(chains.values())
        outcomes: dict[int, Outcome] = {}

        async def worker() -> None:
            while waiting:
                for row in waiting.popleft():
                    if self.pace is not None:
                        await self.pace.take()
                    outcome = await target.send(signer, outbox.event_id(row.seq), self._body(row))
                    outcomes[row.event_id] = outcome
                    if not outcome.ok:
                        break

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(waiting)))))
        return outcomes

    def _body(self, row: Any) -> bytes:
        body = self.bodies.get(row.seq)
        if body is None:
            event = delivery.cloud_event(
                source=self.source,
                event_id=outbox.event_id(row.seq),
                type=row.type,
                uscc=row.uscc,
                at=row.time,
                seq=row.seq,
                data=row.data,
            )
            body = orjson.dumps(event)
            if len(self.bodies) >= BODIES_KEPT:
                del self.bodies[next(iter(self.bodies))]  # the oldest
            self.bodies[row.seq] = body
        return body

    async def _record(
        self, subscription_id: uuid.UUID, rows: Sequence[Any], outcomes: dict[int, Outcome]
    ) -> None:
        """Mark a batch's outcomes: the successes in one statement, the failures
        (few) one statement per kind (executemany); events not sent stay as they are."""
        now = self.clock()
        event_ids: list[int] = []
        statuses: list[int | None] = []
        retry: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for row in rows:
            outcome = outcomes.get(row.event_id)
            if outcome is None:
                continue
            if outcome.ok:
                event_ids.append(row.event_id)
                statuses.append(outcome.status)
                continue
            key = {
                "sub": subscription_id,
                "event_id": row.event_id,
                "now": now,
                "status": outcome.status,
                "error": outcome.error,
            }
            after = self.policy.next_attempt(row.enqueued_at, now, row.attempts + 1, self.rng)
            if after is None:
                failed.append(key)
                log.warning(
                    "webhook_event_failed",
                    subscription_id=str(subscription_id),
                    seq=row.seq,
                    error=outcome.error,
                )
            else:
                retry.append(key | {"next": after})
        async with self.sessionmaker() as session:
            if event_ids:
                params = {"sub": subscription_id, "now": now}
                await session.execute(
                    DELIVERED, params | {"event_ids": event_ids, "statuses": statuses}
                )
                await session.execute(HEALTHY, params)
            for statement, many in ((RETRY, retry), (FAILED, failed)):
                if many:
                    await session.execute(statement, many)
            if not event_ids and outcomes:  # no success in the whole batch
                await session.execute(FAILING, {"sub": subscription_id, "now": now})
                await subscriptions.disable_failing(session, now, self.policy.disable_after)
            await session.commit()


def _refused(rows: Sequence[Any], reason: str) -> dict[int, Outcome]:
    """A failed outcome for each organization's first event (the rest wait behind it)."""
    firsts: dict[str, int] = {}
    for row in rows:
        firsts.setdefault(row.uscc, row.event_id)
    return {event_id: Outcome(False, None, reason) for event_id in firsts.values()}
