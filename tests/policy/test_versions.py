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
from app.policy.policy import (
    POLICY_V1,
    History,
    Reason,
    Schedule,
    black_list_records,
    black_listed_since,
    episode_start,
    evaluate,
)
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


# --- what mutation testing asked for (scripts/mutation) ---------------------------------


def _pending(h: History, on: str, schedule: Schedule = SCHEDULE) -> tuple[bool, bool, object]:
    r = evaluate(h, D(on), schedule)
    return r.black_list, r.black_list_pending, r.notice_id


def test_black_list_records_are_the_records_an_s_rule_names() -> None:
    serious, general = violation("2027-02-01", "serious", id=11), violation("2027-02-02", id=12)
    h = History(status="active", violations=(serious, general))
    assert black_list_records(h, D("2027-02-05"), POLICY_V2) == {uid(11)}
    assert black_list_records(h, D("2027-01-31"), POLICY_V2) == set()
    three = dataclasses.replace(h, violations=(serious, general, violation("2027-02-03", id=13)))
    assert black_list_records(three, D("2027-02-05")) == {uid(11), uid(12), uid(13)}  # S2


TWO_EPISODES = History(
    status="active",
    violations=(
        violation("2027-02-01", "serious", revoked="2027-03-01"),
        violation("2027-04-01", "serious"),
    ),
)


def test_an_episode_starts_on_the_first_day_of_its_stretch() -> None:
    assert episode_start(TWO_EPISODES, D("2027-02-20"), SCHEDULE) == D("2027-02-01")
    assert episode_start(TWO_EPISODES, D("2027-04-01"), SCHEDULE) == D("2027-04-01")
    assert episode_start(TWO_EPISODES, D("2027-04-10"), SCHEDULE) == D("2027-04-01")


def test_a_notice_of_an_earlier_episode_does_not_list_the_next() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    h = dataclasses.replace(TWO_EPISODES, notices=(n,))
    assert _pending(h, "2027-02-20") == (True, False, None)
    assert _pending(h, "2027-04-10") == (False, True, None)


def test_the_latest_notice_of_the_episode_decides() -> None:
    old = notice("2027-02-01", "2027-02-02", "2027-02-12", n=1)
    new = notice("2027-02-05", "2027-02-06", "2027-03-20", n=2)
    h = History(status="active", violations=(SERIOUS,), notices=(old, new))
    assert _pending(h, "2027-03-01") == (False, True, new.id)
    # Served the same day: the greater id decides, whatever the order given.
    first = notice("2027-02-05", "2027-02-06", "2027-02-10", n=1)
    for notices in ((first, new), (new, first)):
        assert _pending(dataclasses.replace(h, notices=notices), "2027-03-01") == (
            False,
            True,
            new.id,
        )


def test_a_notice_counts_from_the_day_it_is_served() -> None:
    n = notice("2027-02-03", "2027-02-03", "2027-02-13")
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    assert _pending(h, "2027-02-03") == (False, True, n.id)
    assert _pending(h, "2027-02-02") == (False, True, None)


def test_a_withdrawn_notice_no_longer_counts() -> None:
    n = dataclasses.replace(
        notice("2027-02-01", "2027-02-03", "2027-02-15"), withdrawn_on=D("2027-02-20")
    )
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    assert _pending(h, "2027-02-19") == (True, False, None)
    assert _pending(h, "2027-02-20") == (False, True, None)


def test_an_undelivered_notice_lists_nobody_even_past_its_deadline() -> None:
    n = notice("2027-02-01", None, "2027-02-15")
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    assert _pending(h, "2027-03-01") == (False, True, n.id)


def test_an_objection_in_time_to_the_listed_record_holds_the_listing() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    filed = ObjectionFact(uid(9), "violation", SERIOUS.id, D("2027-02-10"))
    h = History(status="active", violations=(SERIOUS,), notices=(n,), objections=(filed,))
    assert _pending(h, "2027-03-01") == (False, True, n.id)
    assert _pending(dataclasses.replace(h, objections=()), "2027-03-01") == (True, False, None)


def test_an_episode_begun_on_v2s_first_day_needs_a_notice() -> None:
    h = History(status="active", violations=(violation("2027-01-01", "serious"),))
    assert _pending(h, "2027-02-10") == (False, True, None)


def test_a_later_version_without_notices_lists_at_once() -> None:
    v3 = dataclasses.replace(
        POLICY_V2, version="v3", effective_from=D("2028-01-01"), notice_before_black_list=False
    )
    schedule = Schedule([POLICY_V1, POLICY_V2, v3])
    h = History(status="active", violations=(violation("2028-02-01", "serious"),))
    assert _pending(h, "2028-02-01", schedule) == (True, False, None)


def test_a_pending_reason_says_until_when_objections_run() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    s1 = evaluate(h, D("2027-02-10"), SCHEDULE).reasons[1]
    assert s1.explanation_zh.endswith(
        "列入黑名单；已事先告知，异议期（至 2027-02-15）届满后列入黑名单"
    )
    assert s1.explanation_en.endswith("black list; black list pending: objections until 2027-02-15")
    for notices in ((), (notice("2027-02-01", None, None),)):
        bare = evaluate(dataclasses.replace(h, notices=notices), D("2027-02-10"), SCHEDULE)
        assert bare.reasons[1].explanation_zh.endswith("列入黑名单；待事先告知期满后列入黑名单")
        assert bare.reasons[1].explanation_en.endswith(
            "black list; black list pending: notice period"
        )


def test_listed_under_v2_since_the_day_after_the_objection_deadline() -> None:
    n = notice("2027-02-01", "2027-02-03", "2027-02-15")
    h = History(status="active", violations=(SERIOUS,), notices=(n,))
    assert black_listed_since(h, D("2027-03-01"), SCHEDULE) == D("2027-02-16")
    assert black_listed_since(h, D("2027-02-15"), SCHEDULE) is None


def _c1(h: History, on: str) -> list[Reason]:
    return [r for r in evaluate(h, D(on), SCHEDULE).reasons if r.rule_id == "C1"]


def test_a_c1_reason_names_its_complaint() -> None:
    complaints = (
        ComplaintFact(D("2027-02-01"), "06901234567892", "L1", "食品", id=uid(21)),
        ComplaintFact(D("2027-03-01"), None, None, "玩具", id=uid(22)),
        ComplaintFact(D("2027-04-01"), "06901234567892", "L3", "食品", id=uid(23)),
    )
    reasons = _c1(History(status="active", complaints=complaints), "2027-04-02")
    assert [r.record_id for r in reasons] == [uid(21), uid(22), uid(23)]
    assert reasons[1] == Reason(
        "C1",
        "B",
        "complaint",
        uid(22),
        "经查证属实的投诉（玩具，2027-03-01 查实），12个月内共 3 起（3 起及以上）：等级上限 B",
        "substantiated complaint 玩具 of 2027-03-01, one of 3 within 12 months (3 or more): "
        "grade capped at B",
    )
    assert reasons[0].explanation_en.startswith(
        "substantiated complaint 06901234567892/L1/食品 of 2027-02-01, one of 3"
    )


def test_a_cluster_is_named_by_its_latest_complaint() -> None:
    others = (
        ComplaintFact(D("2027-02-02"), "G", "L2", "食品", id=uid(33)),
        ComplaintFact(D("2027-02-03"), "G", "L3", "食品", id=uid(34)),
    )
    later = ComplaintFact(D("2027-02-05"), "G", "L1", "食品", id=uid(31))
    earlier = ComplaintFact(D("2027-02-01"), "G", "L1", "食品", id=uid(32))
    for pair in ((later, earlier), (earlier, later)):
        h = History(status="active", complaints=(*pair, *others))
        assert {r.record_id for r in _c1(h, "2027-03-01")} == {uid(31), uid(33), uid(34)}
    # The same day: the greater id, whatever the order given.
    low = dataclasses.replace(later, id=uid(41))
    high = dataclasses.replace(later, id=uid(42))
    for pair in ((low, high), (high, low)):
        h = History(status="active", complaints=(*pair, *others))
        assert {r.record_id for r in _c1(h, "2027-03-01")} == {uid(42), uid(33), uid(34)}


def test_c1_reasons_of_one_day_are_in_id_order_and_need_no_id() -> None:
    day = D("2027-02-01")
    same_day = tuple(ComplaintFact(day, "G", f"L{n}", "食品", id=uid(n)) for n in (3, 2, 1))
    h = History(status="active", complaints=same_day)
    assert [r.record_id for r in _c1(h, "2027-03-01")] == [uid(1), uid(2), uid(3)]
    anonymous = tuple(ComplaintFact(day, "G", f"L{n}", "食品") for n in (1, 2, 3))
    reasons = _c1(History(status="active", complaints=anonymous), "2027-03-01")
    assert [r.record_id for r in reasons] == [None, None, None]
    # One without an id sorts first, as the least id would (even before UUID 1).
    mixed = (same_day[2], same_day[1], ComplaintFact(day, "G", "L9", "食品"))
    reasons = _c1(History(status="active", complaints=mixed), "2027-03-01")
    assert [r.record_id for r in reasons] == [None, uid(1), uid(2)]


def test_each_versions_windows_give_change_dates() -> None:
    longer = dataclasses.replace(
        POLICY_V2, version="v3", minor_window_months=24, effective_from=D("2028-01-01")
    )
    h = History(status="active", violations=(violation("2026-03-01", "minor"),))
    r = evaluate(h, D("2026-10-01"), Schedule([POLICY_V1, longer]))
    assert (r.policy_version, r.holds_until) == ("v1", D("2027-02-28"))


def test_an_episode_is_read_under_the_versions_in_force() -> None:
    """Under a version with S2 at two violations, the episode begins with the second
    (not with a later rectification): its notice, served in between, counts."""
    two = dataclasses.replace(POLICY_V2, s2_min_count=2)
    schedule = Schedule([POLICY_V1, two])
    h = History(
        status="active",
        violations=(
            violation("2027-02-01", id=1),
            violation("2027-03-01", rectified="2027-03-05", id=2),
        ),
        notices=(notice("2027-03-02", "2027-03-02", "2027-03-12"),),
    )
    assert episode_start(h, D("2027-03-20"), schedule) == D("2027-03-01")
    assert _pending(h, "2027-03-20", schedule) == (True, False, None)
