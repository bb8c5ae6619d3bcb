"""The retry schedule and the failure window (pure), and signatures checked by
the `standardwebhooks` package, rotation included."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import standardwebhooks

from app.partners import signing
from app.partners.delivery import RetryPolicy

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 43200, 43200]


def test_schedule_without_jitter() -> None:
    policy = RetryPolicy(jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay(n, rng) for n in range(1, 9)] == SCHEDULE


def test_jitter_stays_within_twenty_percent() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    for attempt, base in enumerate(SCHEDULE, start=1):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert base * 0.8 <= min(delays) and max(delays) <= base * 1.2
        assert max(delays) - min(delays) > base * 0.2  # it does jitter


def test_last_try_at_three_days_then_failed() -> None:
    policy = RetryPolicy(jitter=0.0)
    rng = random.Random(0)
    deadline = T0 + dt.timedelta(days=3)
    just_before = deadline - dt.timedelta(seconds=1)
    assert policy.next_attempt(T0, just_before, 9, rng) == deadline  # capped, not past it
    assert policy.next_attempt(T0, deadline, 10, rng) is None  # failed
    early = T0 + dt.timedelta(seconds=1)
    assert policy.next_attempt(T0, early, 1, rng) == early + dt.timedelta(seconds=5)


def test_signature_verifies_with_standardwebhooks() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    body = b'{"specversion":"1.0","id":"evt_1"}'
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = signing.headers([secret], "evt_1", now, body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {
        "specversion": "1.0",
        "id": "evt_1",
    }
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body + b" ", headers)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b"{}"
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = signing.headers([new, old], "evt_2", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, headers)  # raises when no signature matches
