"""The server settles the garbage collector once started (app/core/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.core import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_settle_takes_what_start_up_made_out_of_every_collection() -> None:
    made_at_start_up = [[n] for n in range(10_000)]  # long-lived, as modules and routes are
    collector.settle()
    assert gc.get_freeze_count() >= len(made_at_start_up)
    assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD
    gc.collect()
    # A full collection walks only what was made since: the frozen lists are not in it.
    walked = {id(o) for o in gc.get_objects(generation=2)}
    assert not any(id(x) in walked for x in made_at_start_up)
