"""Four eyes is on for these tests (the rest of the suite is a one-person office)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _four_eyes_on(four_eyes: None) -> None:
    """Every test of this folder runs with four eyes, as a deployment does."""
