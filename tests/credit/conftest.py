"""The credit tests decide repairs with one key; four eyes has its own tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def one_person_office(four_eyes_off: None) -> None:
    """QCR_FOUR_EYES=false for these tests."""
