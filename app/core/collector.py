"""The garbage collector of a long-running server.

A full collection walks every object the collector tracks. Once started, the
registry holds some 270,000 long-lived ones (modules, routes, SQLAlchemy
mappers, pydantic validators), and under load the objects of requests in flight
reach the oldest generation fast enough that a full collection ran about every
2 seconds, stopping the event loop for 120-290 ms each time: that was the
registry's p99 in every benchmark scenario (scripts/bench; measured with a
collector callback, BENCHMARKS.md). `settle()`, called once start-up is done,
collects what start-up left over and moves the rest into the permanent
generation (`gc.freeze`), which no collection walks, so that a full collection
walks only what was made since; and it makes the youngest generation larger,
so that fewer collections promote requests in flight.
"""

from __future__ import annotations

import gc

# Allocations (net) before a young collection; CPython's default is 700.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
