"""Waiting on a condition with a deadline, instead of sleeping a fixed time and
hoping: on a busy 2-core CI machine a fixed sleep is either too short (flaky) or
too long (slow). The deadline is generous because it is only reached on failure."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable


async def wait_for(
    condition: Callable[[], object],
    what: str,
    *,
    timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for polling, not for one await
    interval: float = 0.05,
) -> object:
    """Poll `condition` until it returns something truthy (returned); fail naming
    `what` if it has not by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(interval)
