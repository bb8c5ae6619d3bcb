"""One webhook delivery: the CloudEvent, its signature and the HTTP call to a
target, and the retry schedule (SPEC §11). Pure except for the call itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any

import httpcore
import httpx

from app.partners import signing
from app.partners.targets import GuardedBackend, TargetRefused, TargetRules, check_url

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

    def __init__(self, backend: GuardedBackend, max_connections: int, ssl: SSLContext) -> None:
        super().__init__(verify=ssl)  # (a context of its own would load the CA bundle)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=backend,
        )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


# A partner's answer is read (so that the kept-alive connection can carry the
# next request) and dropped; past this much, the connection is closed instead.
MAX_ANSWER = 64 * 1024


class Target:
    """One subscription's endpoint: its URL, its own client with a pool of
    kept-alive connections (no redirects, bounded time and connections), and the
    SSRF check of its address, made once per delivery batch (`check`)."""

    def __init__(
        self, url: str, rules: TargetRules, policy: RetryPolicy, connections: int, ssl: SSLContext
    ) -> None:
        self.url = httpx.URL(url)
        self.host, self.port = check_url(url, rules)
        self.rules, self.policy, self.connections, self.ssl = rules, policy, connections, ssl
        self.client = self._client()

    def _client(self) -> httpx.AsyncClient:
        self.backend = GuardedBackend(self.rules)
        policy = self.policy
        return httpx.AsyncClient(
            transport=GuardedTransport(self.backend, self.connections, self.ssl),
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout, connect=min(5.0, policy.timeout)),
            headers={"user-agent": "qcr-webhooks/1", "content-type": CONTENT_TYPE},
            trust_env=False,
        )

    async def check(self) -> None:
        """Resolve and check the host (TargetRefused if refused); the batch's new
        connections go to these addresses. When they changed, the connections
        kept alive to the previous ones are closed."""
        if await self.backend.check(self.host, self.port):
            addresses = self.backend.checked[(self.host, self.port)]
            await self.client.aclose()
            self.client = self._client()
            self.backend.checked[(self.host, self.port)] = addresses

    async def send(self, signer: signing.Signer, event_id: str, body: bytes) -> Outcome:
        """POST one signed event; a 2xx within the timeout is a success. The
        answer's body is read and dropped, never kept (it is the partner's)."""
        headers = signer.headers(event_id, int(time.time()), body)
        timeout = self.policy.timeout
        try:
            async with asyncio.timeout(timeout):
                async with self.client.stream(
                    "POST", self.url, content=body, headers=headers
                ) as response:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER:
                            break
        except TargetRefused as exc:
            return Outcome(False, None, str(exc))
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, None, f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"connection failed ({type(exc).__name__})")
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"HTTP {status}")

    async def aclose(self) -> None:
        await self.client.aclose()
