"""Policy versions over time (SPEC §4.1): the version in force on T decides; v2's
C1, black list after notice, disputed reasons; before v2's date, exactly v1."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.policy.facts import ComplaintFact, NoticeFact, ObjectionFact
from app.policy.months import add_months
from app.policy.policy import POLICY_V1, History, evaluate
from app.policy.versions import POLICY_V2, as_data, schedule_with
from tests.policy.test_policy import PROPERTIES, assessment, scenarios, violation

D = date.fromisoformat
ONE = timedelta(days=1)
E = D("2027-01-01")
SCHEDULE = schedule_with(E)


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def test_the_version_in_force_on_t_decides() -> None:
    h = History(status="active")
    assert evaluate(h, E - ONE, SCHEDULE).policy_version == "v1"
    assert evaluate(h, E, SCHEDULE).policy_version == "v2"
    # A status computed before the change holds only until the day before it.
    assert evaluate(h, E - timedelta(days=30), SCHEDULE).holds_until == E - ONE
    assert evaluate(h, E, SCHEDULE).holds_until is None


def test_policies_are_data() -> None:
    data = as_data(POLICY_V2)
    assert data["version"] == "v2"
    assert data["effective_from"] == "2027-01-01"
    assert data["lower_fine_max"] == "10000"
    assert data["objection_window_days"] == 10
    assert as_data(POLICY_V1)["effective_from"] is None


# --- C1 -------------------------------------------------------------------------


def complaint(
    on: str, gtin: str = "06901234567892", lot: str = "L1", cat: str = "食品"
) -> ComplaintFact:
    return ComplaintFact(D(on), gtin, lot, cat, id=uuid.uuid4())


def c1(result_reasons: object) -> list[str]:
    return [r.effect for r in result_reasons if r.rule_id == "C1"]  # type: ignore[attr-defined]


def test_c1_three_clusters_within_twelve_months_cap_b() -> None:
    complaints = (
        complaint("2027-02-01", lot="L1"),
        complaint("2027-03-01", lot="L2"),
        complaint("2027-04-01", lot="L3"),
    )
    h = History(
        status="active", assessments=(assessment("AA", "2027-01-05"),), complaints=complaints
    )
    last_day = add_months(D("2027-02-01"), 12) - ONE  # within: T − 12 months < d ≤ T
    on_last_day = evaluate(h, last_day, SCHEDULE)
    assert on_last_day.grade == "B" and c1(on_last_day.reasons) == ["B", "B", "B"]
    day_after = evaluate(h, last_day + ONE, SCHEDULE)
    assert c1(day_after.reasons) == [] and day_after.grade == "AA"
    assert on_last_day.holds_until == last_day


def test_c1_identical_complaints_count_once() -> None:
    same = (complaint("2027-02-01"), complaint("2027-02-02"), complaint("2027-02-03"))
    h = History(status="active", complaints=same)
    assert c1(evaluate(h, D("2027-03-01"), SCHEDULE).reasons) == []
    other = (*same, complaint("2027-02-04", lot="L9"), complaint("2027-02-05", cat="玩具"))
    assert (
        c1(evaluate(History(status="active", complaints=other), D("2027-03-01"), SCHEDULE).reasons)
        == ["B"] * 3
    )


def test_c1_is_not_a_rule_of_v1() -> None:
    complaints = tuple(complaint("2026-02-01", lot=f"L{i}") for i in range(4))
    h = History(status="active", complaints=complaints)
    assert c1(evaluate(h, D("2026-06-01"), SCHEDULE).reasons) == []


# --- black list after notice ----------------------------------------------------------


SERIOUS = violation("2027-02-01", "serious")


def notice(served: str, delivered: str | None, deadline: str | None, n: int = 1) -> NoticeFact:
    return NoticeFact(
        uid(n),
        D(served),
        D(delivered) if delivered else None,
        D(deadline) if deadline else None,
    )


def test_v2_s_rule_without_notice_is_pending() -> None:
    r = evaluate(History(status="active", violations=(SERIOUS,)), D("2027-02-02"), SCHEDULE)
    assert (r.grade, r.black_list, r.black_list_pending, r.notice_id) == ("D", False, True, None)
    assert "事先告知" in r.reasons[1].explanation_zh and "pending" in r.reasons[1].explanation_en


def test_listed_the_day_after_the_objection_deadline() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    last_day = evaluate(h, D("2027-02-15"), SCHEDULE)
    assert (last_day.black_list, last_day.black_list_pending, last_day.notice_id) == (
        False,
        True,
        n.id,
    )
    assert last_day.holds_until == D("2027-02-15")
    day_after = evaluate(h, D("2027-02-16"), SCHEDULE)
    assert (day_after.black_list, day_after.black_list_pending, day_after.notice_id) == (
        True,
        False,
        None,
    )


def test_undelivered_notice_keeps_it_pending() -> None:
    h = History(status="active", violations=(SERIOUS,), notices=(notice("2027-02-01", None, None),))
    r = evaluate(h, D("2027-06-01"), SCHEDULE)
    assert (r.black_list, r.black_list_pending) == (False, True)


def test_objection_in_time_holds_the_listing_until_decided() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    base = History(status="active", violations=(SERIOUS,), notices=(n,))
    filed = ObjectionFact(uid(9), "notice", n.id, D("2027-02-15"))
    open_ = dataclasses.replace(base, objections=(filed,))
    assert evaluate(open_, D("2027-03-01"), SCHEDULE).black_list is False
    rejected = dataclasses.replace(
        base,
        objections=(dataclasses.replace(filed, decided_on=D("2027-03-01"), outcome="rejected"),),
    )
    assert evaluate(rejected, D("2027-02-28"), SCHEDULE).black_list is False
    assert evaluate(rejected, D("2027-03-01"), SCHEDULE).black_list is True
    upheld = dataclasses.replace(
        base, objections=(dataclasses.replace(filed, decided_on=D("2027-03-01"), outcome="upheld"),)
    )
    assert evaluate(upheld, D("2027-03-02"), SCHEDULE).black_list is False
    late = dataclasses.replace(
        base, objections=(dataclasses.replace(filed, opened_on=D("2027-02-16")),)
    )
    assert evaluate(late, D("2027-02-20"), SCHEDULE).black_list is True


def test_episode_begun_before_v2_needs_no_notice() -> None:
    earlier = violation("2026-12-20", "serious")
    h = History(status="active", violations=(earlier,))
    assert evaluate(h, E, SCHEDULE).black_list is True
    assert evaluate(h, E + timedelta(days=40), SCHEDULE).black_list is True


def test_disputed_record_still_counts() -> None:
    v = violation("2027-02-01", "general")
    h = History(
        status="active",
        violations=(v,),
        objections=(ObjectionFact(uid(7), "violation", v.id, D("2027-02-10")),),
    )
    r = evaluate(h, D("2027-02-10"), SCHEDULE)
    assert r.grade == "C" and r.reasons[1].disputed is True
    assert evaluate(h, D("2027-02-09"), SCHEDULE).reasons[1].disputed is False


# --- before v2's date, exactly v1 -------------------------------------------------------


@st.composite
def with_v2_facts(draw: st.DrawFn) -> tuple[History, History, date, date]:
    """A v1 scenario, the same history with v2's inputs added, T and a v2 date after T."""
    plain, as_of = draw(scenarios())
    v2_from = as_of + timedelta(days=draw(st.integers(1, 800)))
    days = st.dates(date(2020, 1, 1), date(2029, 12, 31))
    kinds = st.lists(st.sampled_from(["warning", "criticism", "fine", "restriction"]), max_size=3)
    violations = tuple(
        dataclasses.replace(
            v,
            procedure=draw(st.sampled_from(["ordinary", "summary"])),
            penalty_kinds=tuple(sorted(set(draw(kinds)))),
            penalty_amount=Decimal(draw(st.integers(0, 20000))),
            published_on=draw(days),
        )
        for v in plain.violations
    )
    ids = [v.id for v in plain.violations] or [uid(1)]
    notices = draw(
        st.lists(
            st.builds(
                NoticeFact, st.uuids(), days, st.one_of(st.none(), days), st.one_of(st.none(), days)
            ),
            max_size=2,
        )
    )
    objections = draw(
        st.lists(
            st.builds(ObjectionFact, st.uuids(), st.just("violation"), st.sampled_from(ids), days),
            max_size=2,
        )
    )
    complaints = draw(
        st.lists(
            st.builds(
                ComplaintFact,
                days,
                st.sampled_from(["A", "B"]),
                st.none(),
                st.sampled_from(["x", "y", "z"]),
            ),
            max_size=5,
        )
    )
    rich = dataclasses.replace(
        plain,
        violations=violations,
        notices=tuple(notices),
        objections=tuple(objections),
        complaints=tuple(complaints),
    )
    return plain, rich, as_of, v2_from


@PROPERTIES
@given(with_v2_facts())
def test_before_v2_results_equal_v1_exactly(case: tuple[History, History, date, date]) -> None:
    plain, rich, as_of, v2_from = case
    v1 = evaluate(plain, as_of, POLICY_V1)
    scheduled = evaluate(rich, as_of, schedule_with(v2_from))
    # Everything equal; only the day it holds until stops before the change of version.
    limit = v2_from - ONE
    expected = dataclasses.replace(
        v1, holds_until=limit if v1.holds_until is None else min(v1.holds_until, limit)
    )
    assert scheduled == expected
