"""Publication periods under v2 (SAMR Order 45 of 2021 arts. 2, 9, 13, 14) and v1."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.policy.months import add_months
from app.policy.policy import POLICY_V1
from app.policy.publication import is_public, period
from app.policy.versions import POLICY_V2, schedule_with
from tests.policy.test_policy import violation

D = date.fromisoformat
ONE = timedelta(days=1)
V = dataclasses.replace(
    violation("2027-03-01", "general"),
    published_on=D("2027-03-10"),
    penalty_kinds=("fine",),
    penalty_amount=Decimal("10000"),
    category="标签",
)


def test_v1_runs_from_the_decision_by_severity() -> None:
    assert period(V, POLICY_V1) == (D("2027-03-01"), D("2030-03-01"))


@pytest.mark.parametrize(
    "changes",
    [{"procedure": "summary"}, {"penalty_kinds": ("warning",)}],
    ids=["summary procedure (art. 2)", "warning only (art. 2)"],
)
def test_never_public(changes: dict[str, Any]) -> None:
    assert period(dataclasses.replace(V, **changes), POLICY_V2) is None


def test_lower_fine_three_months_from_publication() -> None:
    start, end = period(V, POLICY_V2)  # type: ignore[misc]
    assert (start, end) == (D("2027-03-10"), add_months(D("2027-03-10"), 3))
    schedule = schedule_with(D("2027-01-01"))
    assert is_public(V, end - ONE, schedule) and not is_public(V, end, schedule)
    assert not is_public(V, D("2027-03-09"), schedule)  # before its publication


def test_a_fine_above_the_lower_amount_is_three_years() -> None:
    higher = dataclasses.replace(V, penalty_amount=Decimal("10000.01"))
    assert period(higher, POLICY_V2) == (D("2027-03-10"), add_months(D("2027-03-10"), 36))
    confiscation = dataclasses.replace(V, penalty_kinds=("confiscation", "fine"))
    assert period(confiscation, POLICY_V2)[1] == add_months(D("2027-03-10"), 36)  # type: ignore[index]


def test_a_longer_restriction_keeps_it_public() -> None:
    restricted = dataclasses.replace(
        V, penalty_kinds=("restriction",), restriction_until=D("2032-01-31")
    )
    assert period(restricted, POLICY_V2) == (D("2027-03-10"), D("2032-02-01"))


def test_repair_stops_it_early_once_the_minimum_has_passed() -> None:
    long = dataclasses.replace(V, penalty_amount=Decimal("50000"))
    minimum = add_months(D("2027-03-10"), 3)
    assert period(dataclasses.replace(long, repaired_on=minimum), POLICY_V2)[1] == minimum  # type: ignore[index]
    early = dataclasses.replace(long, repaired_on=minimum - ONE)
    assert period(early, POLICY_V2)[1] == add_months(D("2027-03-10"), 36)  # type: ignore[index]


def test_no_early_stop_for_grave_penalties_or_a_new_violation_of_the_kind() -> None:
    repaired = dataclasses.replace(V, penalty_amount=Decimal("50000"), repaired_on=D("2028-01-01"))
    full = add_months(D("2027-03-10"), 36)
    grave = dataclasses.replace(repaired, penalty_kinds=("fine", "suspension"))
    assert period(grave, POLICY_V2)[1] == full  # type: ignore[index]
    again = dataclasses.replace(violation("2027-09-01", "minor"), category="标签")
    assert period(repaired, POLICY_V2, [repaired, again])[1] == full  # type: ignore[index]
    other_kind = dataclasses.replace(again, category="计量")
    assert period(repaired, POLICY_V2, [repaired, other_kind])[1] == D("2028-01-01")  # type: ignore[index]
    listed = violation("2027-10-01", "serious")  # S1 keeps it on the black list
    assert period(repaired, POLICY_V2, [repaired, listed])[1] == full  # type: ignore[index]
