from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from app.approvals import service as approvals_service
from app.core import clock

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    """A fixed "today" so that windows and exits are exact dates."""
    with clock.frozen(TODAY):
        yield


@pytest.fixture(autouse=True)
def one_person_office() -> Iterator[None]:
    """These tests publish black lists with one key; four eyes has its own tests."""
    approvals_service.configure(False)
    try:
        yield
    finally:
        approvals_service.configure(True)
