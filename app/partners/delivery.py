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

from app.partners import client, signing
from app.partners.targets import TargetRules, check_url, checked_addresses

CONTENT_TYPE = "application/cloudevents+json"
HEADERS = f"User-Agent: qcr-webhooks/1\r\nContent-Type: {CONTENT_TYPE}\r\n".encode()


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


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


class Target:
    """One subscription's endpoint: its URL, its pool of kept-alive connections,
    and the SSRF check of its address, made once per delivery batch (`check`)."""

    def __init__(self, url: str, rules: TargetRules, policy: RetryPolicy, tls: SSLContext) -> None:
        self.url = url
        self.host, self.port = check_url(url, rules)
        self.rules, self.policy = rules, policy
        self.pool = client.Pool(url, tls, connect_timeout=min(5.0, policy.timeout))

    async def check(self) -> None:
        """Resolve and check the host (TargetRefused if refused): the batch's new
        connections go to these addresses, and those kept alive to others close."""
        self.pool.use(await checked_addresses(self.host, self.port, self.rules))

    async def send(self, signer: signing.Signer, event_id: str, body: bytes) -> Outcome:
        """POST one signed event; a 2xx within the timeout is a success. The
        answer's body is read and dropped, never kept (it is the partner's)."""
        signed = signer.headers(event_id, int(time.time()), body)
        headers = HEADERS + "".join(f"{k}: {v}\r\n" for k, v in signed.items()).encode()
        timeout = self.policy.timeout
        try:
            async with asyncio.timeout(timeout):
                status = await self.pool.post(headers, body)
        except TimeoutError:
            return Outcome(False, None, f"no answer within {timeout:g} s")
        except (OSError, client.AnswerError) as exc:
            return Outcome(False, None, f"connection failed ({type(exc).__name__})")
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"HTTP {status}")

    def close(self) -> None:
        self.pool.close()
