from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from app.core import clock

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    """A fixed "today" so that windows and exits are exact dates."""
    with clock.frozen(TODAY):
        yield
