""" "Today" in the registry's calendar (QCR_TIMEZONE, default Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.settings import get_settings

_frozen: dt.date | None = None


def today() -> dt.date:
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(get_settings().zone).date()


@contextmanager
def frozen(day: dt.date) -> Iterator[None]:
    """Make `today()` answer `day` (tests of time passing with no write)."""
    global _frozen
    previous, _frozen = _frozen, day
    try:
        yield
    finally:
        _frozen = previous
