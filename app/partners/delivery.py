"""One webhook delivery: the CloudEvent, its signature and the HTTP call, and the
retry schedule (SPEC §11). Pure except for the call itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import orjson

from app.partners import signing
from app.partners.targets import GuardedBackend, TargetRefused, TargetRules

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h, each
    ±20 %; an event is failed 3 days after it was enqueued, and an endpoint with
    no success for 5 days is disabled. Tests pass a shorter one."""

    delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000)
    repeat: float = 43200
    jitter: float = 0.2
    fail_after: dt.timedelta = dt.timedelta(days=3)
    disable_after: dt.timedelta = dt.timedelta(days=5)
    timeout: float = 15.0  # success is a 2xx within this many seconds

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        """Seconds before the next attempt after `failed_attempts` (≥ 1) failures."""
        index = failed_attempts - 1
        base = self.delays[index] if index < len(self.delays) else self.repeat
        return base * (1 + rng.uniform(-self.jitter, self.jitter))

    def next_attempt(
        self,
        enqueued_at: dt.datetime,
        now: dt.datetime,
        failed_attempts: int,
        rng: random.Random,
    ) -> dt.datetime | None:
        """When to try again, or None when the event is now failed. The last try is
        at the end of the window, never after it."""
        deadline = enqueued_at + self.fail_after
        if now >= deadline:
            return None
        return min(now + dt.timedelta(seconds=self.delay(failed_attempts, rng)), deadline)


def cloud_event(
    *, source: str, event_id: str, type: str, uscc: str, at: dt.datetime, seq: int, data: Any
) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured mode. `sequence` is the change feed's
    `seq`, as a string (the CloudEvents sequence extension's type)."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type,
        "subject": uscc,
        "time": at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on the SSRF-checking network backend."""

    def __init__(self, rules: TargetRules, max_connections: int) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(rules),
        )


def make_client(rules: TargetRules, policy: RetryPolicy, max_connections: int) -> httpx.AsyncClient:
    """One client per subscription: no redirects, bounded time and connections."""
    return httpx.AsyncClient(
        transport=GuardedTransport(rules, max_connections),
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout, connect=min(5.0, policy.timeout)),
        headers={"user-agent": "qcr-webhooks/1"},
        trust_env=False,
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


async def send(
    client: httpx.AsyncClient,
    url: str,
    secrets: list[str],
    event: dict[str, Any],
    policy: RetryPolicy,
) -> Outcome:
    """POST one signed event; a 2xx within the timeout is a success. The
    response body is never read (nor kept: it is the partner's)."""
    body = orjson.dumps(event)
    headers = signing.headers(secrets, event["id"], int(time.time()), body)
    headers["content-type"] = CONTENT_TYPE
    try:
        async with asyncio.timeout(policy.timeout):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
    except TargetRefused as exc:
        return Outcome(False, None, str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(False, None, f"no answer within {policy.timeout:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"connection failed ({type(exc).__name__})")
    if 200 <= status < 300:
        return Outcome(True, status, None)
    return Outcome(False, status, f"HTTP {status}")
