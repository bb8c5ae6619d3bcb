"""The credit tests decide repairs with one key; four eyes has its own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.approvals import service as approvals_service


@pytest.fixture(autouse=True)
def one_person_office() -> Iterator[None]:
    """QCR_FOUR_EYES=false for these tests."""
    approvals_service.configure(False)
    try:
        yield
    finally:
        approvals_service.configure(True)
