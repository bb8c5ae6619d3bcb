"""Credit policy v1 (SPEC §4): every rule at its window edges, time travel, the lists,
`holds_until`, `expected_exit`, `black_listed_since`, repair eligibility, publication,
and hypothesis properties over random histories.

Expected dates are written out by hand from "within N months" = `T − N months < d ≤ T`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.policy.months import add_months
from app.policy.policy import (
    GRADES,
    PENALTY_KINDS,
    POLICY_V1,
    Assessment,
    CreditResult,
    History,
    Inspection,
    Reason,
    Recall,
    Schedule,
    Violation,
    black_listed_since,
    evaluate,
    is_public,
    repair_eligibility,
)

D = date.fromisoformat
ONE_DAY = timedelta(days=1)


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def assessment(
    grade: str, on: str, until: str | None = None, *, authority: str = "", id: int = 0
) -> Assessment:
    return Assessment(
        id=uid(id) if id else uuid.uuid4(),
        grade=grade,
        assessed_on=D(on),
        valid_until=D(until) if until else None,
        authority=authority,
    )


def violation(
    decided_on: str,
    severity: str = "general",
    *,
    case_no: str = "",
    rectified: str | None = None,
    revoked: str | None = None,
    repaired: str | None = None,
    id: int = 0,
) -> Violation:
    return Violation(
        id=uid(id) if id else uuid.uuid4(),
        case_no=case_no,
        authority="市场监督管理局",
        decided_on=D(decided_on),
        severity=severity,
        rectified_on=D(rectified) if rectified else None,
        revoked_on=D(revoked) if revoked else None,
        repaired_on=D(repaired) if repaired else None,
    )


def inspection(on: str, result: str = "fail", *, rectified: str | None = None) -> Inspection:
    return Inspection(
        id=uuid.uuid4(),
        inspected_on=D(on),
        result=result,
        rectified_on=D(rectified) if rectified else None,
    )


def recall(on: str, kind: str = "ordered") -> Recall:
    return Recall(id=uuid.uuid4(), initiated_on=D(on), kind=kind)


def history(
    *records: Assessment | Violation | Inspection | Recall, status: str = "active"
) -> History:
    return History(
        status=status,
        assessments=tuple(r for r in records if isinstance(r, Assessment)),
        violations=tuple(r for r in records if isinstance(r, Violation)),
        inspections=tuple(r for r in records if isinstance(r, Inspection)),
        recalls=tuple(r for r in records if isinstance(r, Recall)),
    )


def at(h: History, as_of: str) -> CreditResult:
    return evaluate(h, D(as_of))


def rules(result: CreditResult) -> list[tuple[str, str]]:
    return [(r.rule_id, r.effect) for r in result.reasons]


AAA = assessment("AAA", "2020-01-01")  # valid for good, so caps show against a top base


# --- base grade ---------------------------------------------------------------


def test_no_assessment_gives_base_b() -> None:
    result = at(history(), "2026-01-01")
    assert result == CreditResult(
        grade="B",
        assessed_grade="B",
        a_level=False,
        red_list=False,
        black_list=False,
        reasons=(
            Reason(
                "BASE",
                "B",
                "grade_assessment",
                None,
                "无有效评定等级：基础等级 B",
                "no valid assessment, base B",
            ),
        ),
        policy_version="v1",
        as_of=D("2026-01-01"),
        holds_until=None,
        expected_exit=None,
    )


def test_assessment_is_valid_through_valid_until() -> None:
    a = assessment("AA", "2025-01-01", "2026-06-30", authority="市场监督管理局", id=7)
    h = history(a)
    on_last_day = at(h, "2026-06-30")
    assert (on_last_day.grade, on_last_day.a_level, on_last_day.red_list) == ("AA", True, True)
    assert on_last_day.holds_until == D("2026-06-30")
    assert on_last_day.reasons == (
        Reason(
            "BASE",
            "AA",
            "grade_assessment",
            uid(7),
            "评定等级 AA（2025-01-01 评定，市场监督管理局，有效期至 2026-06-30）：基础等级 AA",
            "assessment AA of 2025-01-01 by 市场监督管理局, valid until 2026-06-30: base grade AA",
        ),
    )
    expired = at(h, "2026-07-01")
    assert (expired.grade, expired.assessed_grade, expired.red_list) == ("B", "B", False)
    assert expired.reasons[0].record_id is None


def test_assessment_dated_after_as_of_does_not_exist_yet() -> None:
    h = history(assessment("A", "2026-02-01"))
    before = at(h, "2026-01-31")
    assert before.grade == "B"
    assert before.holds_until == D("2026-01-31")
    assert at(h, "2026-02-01").grade == "A"


def test_latest_assessment_wins_whatever_the_recording_order() -> None:
    older, newer = assessment("AAA", "2024-01-01"), assessment("A", "2025-01-01", id=2)
    for h in (history(older, newer), history(newer, older)):
        result = at(h, "2025-06-01")
        assert (result.grade, result.reasons[0].record_id) == ("A", uid(2))
    assert at(history(older, newer), "2024-12-31").grade == "AAA"


def test_same_day_assessments_the_later_recorded_wins() -> None:
    first, second = assessment("AA", "2025-01-01"), assessment("A", "2025-01-01")
    assert at(history(first, second), "2025-06-01").grade == "A"
    assert at(history(second, first), "2025-06-01").grade == "AA"


def test_expired_latest_assessment_falls_back_to_an_older_valid_one() -> None:
    # SPEC §4.1 read literally: the latest among the valid ones.
    h = history(assessment("AAA", "2023-01-01"), assessment("A", "2025-01-01", "2025-12-31"))
    assert at(h, "2025-12-31").grade == "A"
    assert at(h, "2026-01-01").grade == "AAA"


def test_grade_is_the_lowest_of_base_and_caps() -> None:
    capped = at(history(AAA, violation("2025-03-01")), "2025-04-01")
    assert (capped.grade, capped.assessed_grade, capped.a_level) == ("C", "AAA", False)
    low_base = at(
        history(assessment("D", "2025-01-01"), violation("2025-03-01", "minor")), "2025-04-01"
    )
    assert (low_base.grade, low_base.black_list) == ("D", False)


# --- each rule at its window edges --------------------------------------------------

# (records, last day inside, first day outside, rule, grade inside, grade outside)
EDGES = [
    pytest.param(
        [violation("2023-01-15", "serious")], "2026-01-14", "2026-01-15", "S1", "D", "B", id="S1"
    ),
    pytest.param(
        [violation("2025-03-31", "general")], "2026-03-30", "2026-03-31", "G1", "C", "B", id="G1"
    ),
    pytest.param([inspection("2025-06-10")], "2026-06-09", "2026-06-10", "G2", "C", "B", id="G2"),
    pytest.param([recall("2024-08-31")], "2026-08-30", "2026-08-31", "G3", "C", "B", id="G3"),
    pytest.param(
        [AAA, violation("2025-05-20", rectified="2025-06-01")],
        "2026-05-19",
        "2026-05-20",
        "M1",
        "B",
        "AAA",
        id="M1-rectified-general",
    ),
    pytest.param(
        [AAA, violation("2023-07-31", "serious", repaired="2024-09-01")],
        "2026-07-30",
        "2026-07-31",
        "M1",
        "B",
        "AAA",
        id="M1-repaired-serious",
    ),
    pytest.param(
        [AAA, violation("2024-02-29", "minor")],
        "2025-02-28",
        "2025-03-01",
        "M2",
        "B",
        "AAA",
        id="M2",
    ),
    pytest.param(
        [AAA, inspection("2025-01-31", rectified="2025-02-15")],
        "2026-01-30",
        "2026-01-31",
        "M3",
        "B",
        "AAA",
        id="M3",
    ),
    pytest.param(
        [AAA, recall("2024-10-31", "voluntary")],
        "2026-10-30",
        "2026-10-31",
        "V1",
        "AAA",
        "AAA",
        id="V1",
    ),
]


@pytest.mark.parametrize(("records", "inside", "outside", "rule", "capped", "free"), EDGES)
def test_rule_window_edges(
    records: list[Assessment | Violation | Inspection | Recall],
    inside: str,
    outside: str,
    rule: str,
    capped: str,
    free: str,
) -> None:
    h = history(*records)
    last_day = at(h, inside)
    assert [r.rule_id for r in last_day.reasons] == ["BASE", rule]
    assert last_day.grade == capped
    assert last_day.black_list is (rule == "S1")
    assert last_day.holds_until == D(inside)
    first_day_out = at(h, outside)
    assert [r.rule_id for r in first_day_out.reasons] == ["BASE"]
    assert (first_day_out.grade, first_day_out.black_list) == (free, False)


def test_a_record_counts_from_its_own_date() -> None:
    h = history(violation("2023-01-15", "serious"))
    day_before = at(h, "2023-01-14")
    assert rules(day_before) == [("BASE", "B")]
    assert day_before.holds_until == D("2023-01-14")
    assert rules(at(h, "2023-01-15")) == [("BASE", "B"), ("S1", "D")]


def test_passing_inspection_caps_nothing() -> None:
    result = at(history(AAA, inspection("2025-06-10", "pass")), "2025-07-01")
    assert (rules(result), result.holds_until) == ([("BASE", "AAA")], None)


def test_voluntary_recall_is_information_only() -> None:
    result = at(history(AAA, recall("2025-10-31", "voluntary")), "2025-11-01")
    assert rules(result) == [("BASE", "AAA"), ("V1", "info")]
    assert (result.grade, result.a_level, result.red_list) == ("AAA", True, True)


# --- status changes and time travel -------------------------------------------


def test_rectification_counts_from_its_own_date() -> None:
    h = history(AAA, violation("2025-03-01", rectified="2025-05-01"))
    before = at(h, "2025-04-30")
    assert rules(before) == [("BASE", "AAA"), ("G1", "C")]
    assert before.holds_until == D("2025-04-30")
    assert rules(at(h, "2025-05-01")) == [("BASE", "AAA"), ("M1", "B")]


def test_repair_counts_from_its_own_date_and_lifts_s1() -> None:
    h = history(violation("2025-01-01", "serious", repaired="2026-03-01"))
    before = at(h, "2026-02-28")
    assert (rules(before), before.black_list) == ([("BASE", "B"), ("S1", "D")], True)
    after = at(h, "2026-03-01")
    assert (rules(after), after.black_list) == ([("BASE", "B"), ("M1", "B")], False)


def test_rectification_alone_does_not_lift_s1() -> None:
    result = at(history(violation("2025-01-01", "serious", rectified="2025-02-01")), "2025-06-01")
    assert (rules(result), result.black_list) == ([("BASE", "B"), ("S1", "D")], True)


def test_revocation_counts_from_its_own_date() -> None:
    h = history(violation("2025-01-01", "serious", revoked="2025-04-01"))
    assert at(h, "2025-03-31").black_list
    revoked = at(h, "2025-04-01")
    assert (rules(revoked), revoked.black_list) == ([("BASE", "B")], False)
    # A revoked violation never matters again: its window exits are no edges.
    assert revoked.holds_until is None


def test_inspection_rectified_after_as_of_still_fails() -> None:
    h = history(AAA, inspection("2025-06-10", rectified="2025-08-01"))
    before = at(h, "2025-07-31")
    assert (rules(before), before.holds_until) == ([("BASE", "AAA"), ("G2", "C")], D("2025-07-31"))
    assert rules(at(h, "2025-08-01")) == [("BASE", "AAA"), ("M3", "B")]


def test_future_dated_violation_does_not_exist_yet() -> None:
    result = at(history(AAA, violation("2026-02-01", "serious")), "2026-01-31")
    assert (result.grade, result.black_list) == ("AAA", False)
    assert result.holds_until == D("2026-01-31")


# --- S2 -----------------------------------------------------------------------------

S2_THREE = (
    violation("2025-01-10", case_no="C-1", rectified="2025-01-20", id=1),
    violation("2025-04-01", case_no="C-2", rectified="2025-04-15", id=2),
    violation("2025-09-30", case_no="C-3", rectified="2025-10-05", id=3),
)


def test_two_violations_are_not_s2() -> None:
    result = at(history(*S2_THREE), "2025-09-29")
    assert [r.rule_id for r in result.reasons] == ["BASE", "M1", "M1"]
    assert not result.black_list


def test_s2_three_violations_within_12_months_one_reason_each() -> None:
    h = history(*S2_THREE)
    result = at(h, "2025-09-30")
    assert [r.rule_id for r in result.reasons] == ["BASE", "S2", "S2", "S2", "G1", "M1", "M1"]
    assert [r.record_id for r in result.reasons if r.rule_id == "S2"] == [uid(1), uid(2), uid(3)]
    assert (result.grade, result.black_list) == ("D", True)
    assert result.reasons[1].explanation_en == (
        "general violation C-1 decided 2025-01-10, one of 3 general or serious violations "
        "within 12 months (3 or more): grade capped at D, black list"
    )
    assert result.reasons[1].explanation_zh == (
        "一般质量违法行为（案号 C-1，2025-01-10 决定），"
        "12个月内一般或严重质量违法行为共 3 起（3 起及以上）：等级上限 D，列入黑名单"
    )
    # 2025-01-10 leaves the 12-month window on 2026-01-10.
    assert at(h, "2026-01-09").black_list
    assert not at(h, "2026-01-10").black_list
    assert result.holds_until == D("2025-10-04")  # C-3 is rectified on 2025-10-05


def test_s2_ignores_revoked_violations() -> None:
    revoked_third = dataclasses.replace(S2_THREE[2], revoked_on=D("2025-10-01"))
    h = history(*S2_THREE[:2], revoked_third)
    assert at(h, "2025-09-30").black_list  # revoked after as_of: still counts
    assert not at(h, "2025-10-01").black_list


def test_s2_counts_repaired_serious_violations() -> None:
    h = history(
        violation("2025-01-10", "serious", rectified="2025-01-12", repaired="2025-02-01"),
        violation("2025-03-01", rectified="2025-03-05"),
        violation("2025-04-01", rectified="2025-04-05"),
    )
    result = at(h, "2025-05-01")
    assert [r.rule_id for r in result.reasons] == ["BASE", "S2", "S2", "S2", "M1", "M1", "M1"]
    assert result.black_list


def test_s2_ignores_minor_violations() -> None:
    h = history(violation("2025-01-10"), violation("2025-02-10"), violation("2025-03-10", "minor"))
    result = at(h, "2025-04-01")
    assert [r.rule_id for r in result.reasons] == ["BASE", "G1", "G1", "M2"]
    assert not result.black_list


# --- lists and reasons ------------------------------------------------------------


def test_red_list_requires_active_status() -> None:
    h = history(assessment("AA", "2025-01-01"), status="deregistered")
    result = at(h, "2025-06-01")
    assert (result.a_level, result.red_list) == (True, False)


def test_black_list_holds_for_deregistered_organizations() -> None:
    h = history(AAA, violation("2025-01-01", "serious"), status="deregistered")
    result = at(h, "2025-06-01")
    assert (result.grade, result.assessed_grade, result.black_list) == ("D", "AAA", True)


def test_s1_explanation_names_the_record() -> None:
    v = violation("2025-01-02", "serious", case_no="X", id=9)
    (s1,) = at(history(v), "2025-06-01").reasons[1:]
    assert s1 == Reason(
        "S1",
        "D",
        "violation",
        uid(9),
        "严重质量违法行为（案号 X，2025-01-02 决定），"
        "36个月内未撤销、未修复：等级上限 D，列入黑名单",
        "serious violation X decided 2025-01-02, within 36 months, not revoked or repaired: "
        "grade capped at D, black list",
    )


def test_explanations_of_inspections_recalls_and_repairs() -> None:
    failed = Inspection(uid(1), D("2025-06-10"), "fail", report_no="R-7")
    ordered = Recall(
        uid(2), D("2025-05-01"), "ordered", recall_no="Z-3", product_name="儿童安全座椅"
    )
    repaired = violation("2024-01-05", "serious", case_no="S-4", repaired="2025-01-06", id=3)
    reasons = {r.rule_id: r for r in at(history(failed, ordered, repaired), "2025-07-01").reasons}
    assert reasons["G2"].explanation_zh == (
        "监督抽查不合格（报告 R-7，2025-06-10 抽查），12个月内未整改：等级上限 C"
    )
    assert reasons["G2"].explanation_en == (
        "failed inspection R-7 of 2025-06-10, within 12 months, not rectified: grade capped at C"
    )
    assert reasons["G3"].explanation_zh == (
        "责令召回（召回编号 Z-3，产品 儿童安全座椅，2025-05-01 启动），24个月内：等级上限 C"
    )
    assert reasons["G3"].explanation_en == (
        "ordered recall Z-3 of 儿童安全座椅 initiated 2025-05-01, within 24 months: "
        "grade capped at C"
    )
    assert reasons["M1"].explanation_en == (
        "serious violation S-4 decided 2024-01-05, credit repaired 2025-01-06, "
        "within 36 months: grade capped at B"
    )


def test_reasons_in_rule_order_then_date_then_id() -> None:
    records = (
        recall("2025-03-01", "voluntary"),
        violation("2025-02-01", "minor", id=10),
        inspection("2025-02-01", rectified="2025-02-20"),
        recall("2025-02-01", "ordered"),
        inspection("2025-01-15"),
        violation("2025-05-01", id=2),
        violation("2025-05-01", id=1),
        violation("2025-03-01", id=3),
    )
    result = at(history(AAA, *records), "2025-06-01")
    assert [(r.rule_id, r.record_id) for r in result.reasons if r.record_type == "violation"] == [
        ("S2", uid(3)),
        ("S2", uid(1)),
        ("S2", uid(2)),
        ("G1", uid(3)),
        ("G1", uid(1)),
        ("G1", uid(2)),
        ("M2", uid(10)),
    ]
    order = ["BASE", "S2", "S2", "S2", "G1", "G1", "G1", "G2", "G3", "M2", "M3", "V1"]
    assert [r.rule_id for r in result.reasons] == order
    assert at(history(AAA, *reversed(records)), "2025-06-01").reasons == result.reasons


def test_policy_is_data() -> None:
    shorter = dataclasses.replace(POLICY_V1, version="test", serious_window_months=24)
    h = history(violation("2023-01-15", "serious"))
    result = evaluate(h, D("2025-01-15"), shorter)
    assert (result.black_list, result.policy_version) == (False, "test")
    assert evaluate(h, D("2025-01-14"), shorter).black_list
    assert evaluate(h, D("2025-01-15")).black_list


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        violation("2025-01-01", "grave")
    with pytest.raises(ValueError, match="grade"):
        assessment("A+", "2025-01-01")
    with pytest.raises(ValueError, match="status"):
        History(status="dormant")


# --- holds_until, expected_exit, black_listed_since ----------------------------------


def test_holds_until_is_the_day_before_the_next_window_exit() -> None:
    result = at(history(violation("2023-01-15", "serious")), "2025-01-01")
    assert result.holds_until == D("2026-01-14")
    assert at(history(), "2025-01-01").holds_until is None


def test_holds_until_when_a_serious_violation_leaves_s2_but_not_s1() -> None:
    h = history(
        violation("2025-01-10", "serious"), violation("2025-03-01"), violation("2025-04-01")
    )
    inside = at(h, "2025-06-01")
    assert [r.rule_id for r in inside.reasons] == ["BASE", "S1", "S2", "S2", "S2", "G1", "G1"]
    assert inside.holds_until == D("2026-01-09")
    after = at(h, "2026-01-10")
    assert [r.rule_id for r in after.reasons] == ["BASE", "S1", "G1", "G1"]


def test_holds_until_sees_a_window_passing_before_a_later_revocation() -> None:
    h = history(violation("2025-01-10", revoked="2026-06-01"))
    assert at(h, "2025-06-01").holds_until == D("2026-01-09")


def test_expected_exit_when_the_s1_window_passes() -> None:
    result = at(history(violation("2023-01-15", "serious")), "2025-06-01")
    assert result.expected_exit == D("2026-01-15")


def test_expected_exit_ignores_writes_dated_after_as_of() -> None:
    h = history(
        violation("2023-01-15", "serious", repaired="2025-09-01"),
        violation("2025-12-01", "serious"),
    )
    result = at(h, "2025-06-01")
    assert result.holds_until == D("2025-08-31")
    assert result.expected_exit == D("2026-01-15")


def test_expected_exit_walks_s2_forward() -> None:
    # On 2026-01-10 the first leaves, three remain; on 2026-04-01 only two.
    h = history(*S2_THREE, violation("2025-11-15", rectified="2025-11-20"))
    assert at(h, "2025-12-01").expected_exit == D("2026-04-01")
    assert at(h, "2026-03-31").black_list
    assert not at(h, "2026-04-01").black_list


def test_expected_exit_waits_for_s1_after_s2() -> None:
    h = history(
        violation("2024-03-01", "serious"), violation("2024-05-01"), violation("2024-06-01")
    )
    result = at(h, "2024-07-01")
    assert [r.rule_id for r in result.reasons].count("S2") == 3
    assert result.expected_exit == D("2027-03-01")


def test_no_expected_exit_when_not_black_listed() -> None:
    assert at(history(violation("2025-01-01")), "2025-02-01").expected_exit is None


S2_2024 = (violation("2024-01-10"), violation("2024-02-10"), violation("2024-03-10"))


def test_black_listed_since_the_decision() -> None:
    assert black_listed_since(history(violation("2024-03-01", "serious")), D("2025-01-01")) == D(
        "2024-03-01"
    )


def test_black_listed_since_spans_s2_handing_over_to_s1() -> None:
    # S2 holds 2024-03-10 .. 2025-01-09, S1 from 2024-12-01: no gap.
    h = history(*S2_2024, violation("2024-12-01", "serious"))
    assert black_listed_since(h, D("2026-01-01")) == D("2024-03-10")


def test_black_listed_since_restarts_after_a_gap() -> None:
    # S2 ends on 2025-01-10; S1 starts on 2025-02-01.
    h = history(*S2_2024, violation("2025-02-01", "serious"))
    assert black_listed_since(h, D("2026-01-01")) == D("2025-02-01")
    assert black_listed_since(h, D("2025-01-09")) == D("2024-03-10")
    assert black_listed_since(h, D("2025-01-20")) is None


def test_black_listed_since_across_a_same_day_repair_and_new_violation() -> None:
    h = history(
        violation("2023-01-01", "serious", repaired="2024-01-01"),
        violation("2024-01-01", "serious"),
    )
    assert black_listed_since(h, D("2024-06-01")) == D("2023-01-01")


def test_black_listed_since_ignores_a_later_repair() -> None:
    h = history(violation("2024-03-01", "serious", repaired="2025-06-01"))
    assert black_listed_since(h, D("2025-01-01")) == D("2024-03-01")
    assert black_listed_since(h, D("2025-06-01")) is None


# --- credit repair eligibility ---------------------------------------------------------


def test_serious_violation_repairable_12_months_after_decision() -> None:
    v = violation("2025-01-31", "serious", rectified="2025-02-15")
    code, message = repair_eligibility(v, D("2026-01-30")) or ("", "")
    assert code == "too_early"
    assert message.endswith("eligible from 2026-01-31")
    assert repair_eligibility(v, D("2026-01-31")) is None


def test_general_violation_repairable_3_months_after_decision() -> None:
    v = violation("2025-11-30", "general", rectified="2025-12-05")
    code, message = repair_eligibility(v, D("2026-02-27")) or ("", "")
    assert code == "too_early"
    assert message.endswith("eligible from 2026-02-28")
    assert repair_eligibility(v, D("2026-02-28")) is None


def code_on(v: Violation, on: str) -> str | None:
    refusal = repair_eligibility(v, D(on))
    return refusal[0] if refusal else None


def test_repair_requires_rectification_by_the_request_date() -> None:
    assert code_on(violation("2025-01-01"), "2025-06-01") == "not_rectified"
    assert code_on(violation("2025-01-01", rectified="2025-06-02"), "2025-06-01") == "not_rectified"
    assert code_on(violation("2025-01-01", rectified="2025-06-01"), "2025-06-01") is None


@pytest.mark.parametrize(
    ("revoked", "repaired", "expected"),
    [
        ("2025-06-01", None, "revoked"),
        ("2025-06-02", None, None),  # revoked after the request date
        (None, "2025-06-01", "already_repaired"),
        (None, "2025-06-02", None),
    ],
)
def test_repair_refused_once_revoked_or_repaired(
    revoked: str | None, repaired: str | None, expected: str | None
) -> None:
    v = violation("2025-01-01", rectified="2025-01-05", revoked=revoked, repaired=repaired)
    assert code_on(v, "2025-06-01") == expected


def test_repair_refused_before_the_decision() -> None:
    assert code_on(violation("2025-07-01", rectified="2025-07-05"), "2025-06-01") == "not_decided"


def test_minor_violations_are_not_repaired() -> None:
    v = violation("2025-01-01", "minor", rectified="2025-01-05")
    assert repair_eligibility(v, D("2026-01-01")) == (
        "minor",
        "minor violations are not subject to credit repair; they cap at B only within 12 months",
    )


# --- publication period -----------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "decided_on", "today", "public"),
    [
        ("minor", "2025-11-30", "2025-11-29", False),  # not decided yet
        ("minor", "2025-11-30", "2025-11-30", True),
        ("minor", "2025-11-30", "2026-02-28", True),  # 2026-02-28 − 3 months = 2025-11-28
        ("minor", "2025-11-30", "2026-03-01", False),
        ("general", "2023-01-15", "2026-01-14", True),
        ("general", "2023-01-15", "2026-01-15", False),
        ("serious", "2023-01-15", "2026-01-14", True),
        ("serious", "2023-01-15", "2026-01-15", False),
    ],
)
def test_publication_period(severity: str, decided_on: str, today: str, public: bool) -> None:
    assert is_public(violation(decided_on, severity), D(today)) is public


# --- properties over random histories ---------------------------------------------------

FIRST, LAST = date(2021, 1, 1), date(2025, 12, 31)  # the records' five years
EDGE_MONTHS = (0, 3, 12, 24, 36)  # every window of policy v1, and the record's own date
# Status changes mostly follow their record, at times (bad data) precede it a little.
offsets = st.one_of(st.none(), st.integers(-20, 400), st.integers(0, 1200))
Dates = st.SearchStrategy[date]


def _after(d: date, offset: int | None) -> date | None:
    return None if offset is None else d + timedelta(days=offset)


@st.composite
def violations(draw: st.DrawFn, dates: Dates) -> Violation:
    decided_on = draw(dates)
    return Violation(
        id=draw(st.uuids()),
        case_no="",
        authority="",
        decided_on=decided_on,
        # General and serious twice as likely, for S2.
        severity=draw(st.sampled_from(["minor", "general", "general", "serious", "serious"])),
        rectified_on=_after(decided_on, draw(offsets)),
        revoked_on=_after(decided_on, draw(st.one_of(st.none(), offsets))),
        repaired_on=_after(decided_on, draw(offsets)),
    )


@st.composite
def assessments(draw: st.DrawFn, dates: Dates) -> Assessment:
    assessed_on = draw(dates)
    grade = draw(st.sampled_from(GRADES))
    return Assessment(draw(st.uuids()), grade, assessed_on, _after(assessed_on, draw(offsets)))


@st.composite
def inspections(draw: st.DrawFn, dates: Dates) -> Inspection:
    inspected_on = draw(dates)
    result = draw(st.sampled_from(["pass", "fail"]))
    return Inspection(draw(st.uuids()), inspected_on, result, _after(inspected_on, draw(offsets)))


def recalls(dates: Dates) -> st.SearchStrategy[Recall]:
    kinds = st.sampled_from(["voluntary", "ordered"])
    return st.builds(Recall, id=st.uuids(), initiated_on=dates, kind=kinds)


def _dates_of(record: Assessment | Violation | Inspection | Recall) -> list[date]:
    values = (getattr(record, f.name) for f in dataclasses.fields(record))
    return [v for v in values if isinstance(v, date)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[History, date]:
    """A history of at most six records and a date T to evaluate it on."""
    # Half the time the records fall within one year of the five, so that S2 and
    # overlapping windows come up often; T is often in the years that follow.
    start = draw(st.dates(FIRST, LAST - timedelta(days=365)))
    if draw(st.booleans()):
        dates = st.dates(start, start + timedelta(days=365))
    else:
        dates = st.dates(FIRST, LAST)
    kinds = st.one_of(violations(dates), assessments(dates), inspections(dates), recalls(dates))
    records = draw(st.lists(kinds, max_size=6))
    status = draw(st.sampled_from(["active", "deregistered"]))
    as_of = draw(st.dates(date(2020, 7, 1), date(2028, 6, 30)))
    known = [d for r in records for d in _dates_of(r)]
    near_an_edge = draw(st.booleans())
    if known and near_an_edge:
        # Just before (or on) a window edge of some record or status change, so
        # that holds_until has to find that edge.
        months = draw(st.sampled_from(EDGE_MONTHS))
        jitter = timedelta(days=draw(st.integers(-40, 2)))
        as_of = add_months(draw(st.sampled_from(known)), months) + jitter
    return history(*records, status=status), as_of


# 200 examples a property; a profile that asks for fewer wins (scripts/mutation's
# derandomized `mutation` profile: there the example tests must kill on their own).
_LOADED = settings.default.max_examples if settings.default else 100  # stock default: 100
PROPERTIES = settings(max_examples=_LOADED if _LOADED < 100 else 200, deadline=None, database=None)


def observable(result: CreditResult) -> tuple[object, ...]:
    return (result.grade, result.a_level, result.red_list, result.black_list, result.reasons)


def known_on(h: History, as_of: date) -> History:
    """`h` as the registry saw it on `as_of`: nothing dated later."""

    def on(d: date | None) -> date | None:
        return d if d is not None and d <= as_of else None

    return dataclasses.replace(
        h,
        assessments=tuple(a for a in h.assessments if a.assessed_on <= as_of),
        violations=tuple(
            dataclasses.replace(
                v,
                rectified_on=on(v.rectified_on),
                revoked_on=on(v.revoked_on),
                repaired_on=on(v.repaired_on),
            )
            for v in h.violations
            if v.decided_on <= as_of
        ),
        inspections=tuple(
            dataclasses.replace(i, rectified_on=on(i.rectified_on))
            for i in h.inspections
            if i.inspected_on <= as_of
        ),
        recalls=tuple(r for r in h.recalls if r.initiated_on <= as_of),
    )


def days_between(data: st.DataObject, start: date, end: date) -> list[date]:
    span = (end - start).days
    picks = data.draw(st.lists(st.integers(0, span), max_size=4))
    return [start + timedelta(days=k) for k in picks]


@PROPERTIES
@given(scenarios(), st.data())
def test_result_holds_through_holds_until(
    scenario: tuple[History, date], data: st.DataObject
) -> None:
    h, as_of = scenario
    result = evaluate(h, as_of)
    last = result.holds_until if result.holds_until is not None else as_of + timedelta(days=4000)
    assert last >= as_of
    for d in {as_of, last, *days_between(data, as_of, last)}:
        assert observable(evaluate(h, d)) == observable(result), d


@PROPERTIES
@given(scenarios(), st.data())
def test_holds_until_just_before_window_edges(
    scenario: tuple[History, date], data: st.DataObject
) -> None:
    # The days just before a record's window edges are where a missed edge shows.
    h, _ = scenario
    records: tuple[Assessment | Violation | Inspection | Recall, ...] = (
        *h.assessments,
        *h.violations,
        *h.inspections,
        *h.recalls,
    )
    edges = sorted({add_months(d, m) for r in records for d in _dates_of(r) for m in EDGE_MONTHS})
    if not edges:
        return
    for edge in data.draw(st.lists(st.sampled_from(edges), max_size=8, unique=True)):
        as_of = edge - ONE_DAY
        result = evaluate(h, as_of)
        if result.holds_until is not None:
            assert observable(evaluate(h, result.holds_until)) == observable(result), as_of


@PROPERTIES
@given(scenarios())
def test_grade_flags_and_reasons_agree(scenario: tuple[History, date]) -> None:
    h, as_of = scenario
    result = evaluate(h, as_of)
    assert GRADES.index(result.grade) >= GRADES.index(result.assessed_grade)
    assert result.reasons[0].rule_id == "BASE"
    assert result.reasons[0].effect == result.assessed_grade
    assert result.black_list == any(r.rule_id in ("S1", "S2") for r in result.reasons)
    assert result.a_level == (result.grade in ("AAA", "AA", "A"))
    assert result.red_list == (result.a_level and h.status == "active")
    assert (result.expected_exit is not None) == result.black_list
    order = ["BASE", "S1", "S2", "G1", "G2", "G3", "M1", "M2", "M3", "V1"]
    ranks = [order.index(r.rule_id) for r in result.reasons]
    assert ranks == sorted(ranks)
    assert len({(r.rule_id, r.record_id) for r in result.reasons}) == len(result.reasons)


@PROPERTIES
@given(scenarios(), st.data())
def test_expected_exit_is_the_first_day_off_the_black_list(
    scenario: tuple[History, date], data: st.DataObject
) -> None:
    h, as_of = scenario
    result = evaluate(h, as_of)
    if not result.black_list:
        return
    frozen = known_on(h, as_of)
    exit_day = result.expected_exit
    assert exit_day is not None and exit_day > as_of
    assert evaluate(frozen, as_of).expected_exit == exit_day
    assert not evaluate(frozen, exit_day).black_list
    for d in {exit_day - ONE_DAY, *days_between(data, as_of, exit_day - ONE_DAY)}:
        assert evaluate(frozen, d).black_list, d


@PROPERTIES
@given(scenarios(), st.data())
def test_black_listed_since_starts_the_unbroken_stretch(
    scenario: tuple[History, date], data: st.DataObject
) -> None:
    h, as_of = scenario
    since = black_listed_since(h, as_of)
    if not evaluate(h, as_of).black_list:
        assert since is None
        return
    assert since is not None and since <= as_of
    assert not evaluate(h, since - ONE_DAY).black_list
    for d in {since, *days_between(data, since, as_of)}:
        assert evaluate(h, d).black_list, d


# --- what mutation testing asked for (scripts/mutation) ---------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: assessment("E", "2024-01-01"),
            "grade must be one of AAA, AA, A, B, C, D, not 'E'",
        ),
        (
            lambda: violation("2024-01-01", "grave"),
            "severity must be one of minor, general, serious, not 'grave'",
        ),
        (lambda: inspection("2024-01-01", "ok"), "result must be one of pass, fail, not 'ok'"),
        (
            lambda: recall("2024-01-01", "forced"),
            "kind must be one of voluntary, ordered, not 'forced'",
        ),
        (
            lambda: history(status="closed"),
            "status must be one of active, deregistered, not 'closed'",
        ),
        (
            lambda: dataclasses.replace(violation("2024-01-01"), procedure="oral"),
            "procedure must be one of ordinary, summary, not 'oral'",
        ),
        (
            lambda: dataclasses.replace(violation("2024-01-01"), penalty_kinds=("fine", "jail")),
            "penalty_kinds must be one of warning, criticism, fine, confiscation, suspension, "
            "licence_revoked, restriction, qualification_lowered, not 'jail'",
        ),
        (lambda: Schedule([]), "the first policy version applies from the beginning"),
        (
            lambda: Schedule([dataclasses.replace(POLICY_V1, effective_from=D("2027-01-01"))]),
            "the first policy version applies from the beginning",
        ),
    ],
)
def test_an_invalid_record_names_its_field_and_the_allowed_values(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        make()
    assert str(raised.value) == message


def test_listed_on_its_first_day_since_that_day() -> None:
    h = history(violation("2024-03-10", "serious"))
    assert black_listed_since(h, D("2024-03-10")) == D("2024-03-10")
    assert black_listed_since(h, D("2024-03-09")) is None


def _s2(*, revoked: str | None = None, repaired: str | None = None) -> History:
    """Three general or serious violations within 12 months (S2), the latest of which
    (decided 2024-04-15, serious) may be revoked or repaired; a general one before."""
    return history(
        violation("2024-02-01", id=1),
        violation("2024-03-01", id=2),
        violation("2024-04-01", id=3),
        violation("2024-04-15", "serious", revoked=revoked, repaired=repaired, id=4),
    )


@pytest.mark.parametrize(
    ("h", "exit_day"),
    [
        # Revoked on as_of: known, so three stand; S2 ends when the first leaves.
        pytest.param(_s2(revoked="2024-05-01"), "2025-02-01", id="revoked on as_of"),
        # Revoked after as_of: not known yet, four stand and the serious one is S1.
        pytest.param(_s2(revoked="2024-06-01"), "2027-04-15", id="revoked after as_of"),
        # Repaired on as_of: no S1, but S2 counts it: ends when two have left.
        pytest.param(_s2(repaired="2024-05-01"), "2025-03-01", id="repaired on as_of"),
        pytest.param(_s2(repaired="2024-06-01"), "2027-04-15", id="repaired after as_of"),
    ],
)
def test_expected_exit_knows_status_changes_on_as_of_not_after(h: History, exit_day: str) -> None:
    result = evaluate(h, D("2024-05-01"))
    assert result.black_list
    assert result.expected_exit == D(exit_day)


def test_expected_exit_ignores_a_violation_decided_after_as_of() -> None:
    h = history(violation("2024-01-10", "serious"), violation("2024-06-01", "serious"))
    assert evaluate(h, D("2024-05-01")).expected_exit == D("2027-01-10")


def test_base_reason_texts_with_and_without_authority_and_expiry() -> None:
    bare = evaluate(history(assessment("AA", "2024-01-01", id=7)), D("2024-02-01")).reasons[0]
    assert (bare.rule_id, bare.effect, bare.record_type, bare.record_id) == (
        "BASE",
        "AA",
        "grade_assessment",
        uid(7),
    )
    assert bare.explanation_zh == "评定等级 AA（2024-01-01 评定，长期有效）：基础等级 AA"
    assert bare.explanation_en == "assessment AA of 2024-01-01, no expiry: base grade AA"
    full = evaluate(
        history(assessment("A", "2024-01-01", "2026-12-31", authority="浙江省局")), D("2024-02-01")
    ).reasons[0]
    assert full.explanation_zh == (
        "评定等级 A（2024-01-01 评定，浙江省局，有效期至 2026-12-31）：基础等级 A"
    )
    assert full.explanation_en == (
        "assessment A of 2024-01-01 by 浙江省局, valid until 2026-12-31: base grade A"
    )
    none = evaluate(history(), D("2024-02-01")).reasons[0]
    assert (none.explanation_zh, none.explanation_en) == (
        "无有效评定等级：基础等级 B",
        "no valid assessment, base B",
    )


def _reason(h: History, on: str, rule_id: str) -> Reason:
    return next(r for r in evaluate(h, D(on)).reasons if r.rule_id == rule_id)


def test_reason_texts_of_every_rule() -> None:
    vid, iid, rid = uid(11), uid(12), uid(13)
    cases: list[tuple[History, str, str, str, str, str]] = [
        (
            history(Violation(vid, "", "局", D("2024-01-10"), "general", D("2024-02-01"))),
            "M1",
            "violation",
            f"一般质量违法行为（案号 {vid}，2024-01-10 决定），已于 2024-02-01 整改，"
            "12个月内：等级上限 B",
            f"general violation {vid} decided 2024-01-10, rectified 2024-02-01, "
            "within 12 months: grade capped at B",
            "2024-03-01",
        ),
        (
            history(violation("2024-01-10", case_no="案1")),
            "G1",
            "violation",
            "一般质量违法行为（案号 案1，2024-01-10 决定），12个月内未撤销、未整改：等级上限 C",
            "general violation 案1 decided 2024-01-10, "
            "within 12 months, not revoked or rectified: grade capped at C",
            "2024-03-01",
        ),
        (
            history(violation("2024-01-10", "minor", case_no="案2")),
            "M2",
            "violation",
            "轻微质量违法行为（案号 案2，2024-01-10 决定），12个月内未撤销：等级上限 B",
            "minor violation 案2 decided 2024-01-10, "
            "within 12 months, not revoked: grade capped at B",
            "2024-03-01",
        ),
        (
            history(Inspection(iid, D("2024-01-10"), "fail", D("2024-02-01"))),
            "M3",
            "inspection",
            f"监督抽查不合格（报告 {iid}，2024-01-10 抽查），已于 2024-02-01 整改，"
            "12个月内：等级上限 B",
            f"failed inspection {iid} of 2024-01-10, rectified 2024-02-01, "
            "within 12 months: grade capped at B",
            "2024-03-01",
        ),
        (
            history(Inspection(iid, D("2024-01-10"), "fail", None, "JD-1")),
            "G2",
            "inspection",
            "监督抽查不合格（报告 JD-1，2024-01-10 抽查），12个月内未整改：等级上限 C",
            "failed inspection JD-1 of 2024-01-10, within 12 months, not rectified: "
            "grade capped at C",
            "2024-03-01",
        ),
        (
            history(Recall(rid, D("2024-01-10"), "voluntary")),
            "V1",
            "recall",
            f"主动召回（召回编号 {rid}，2024-01-10 启动），24个月内：仅作提示，不影响等级",
            f"voluntary recall {rid} initiated 2024-01-10, "
            "within 24 months: for information, no grade cap",
            "2024-03-01",
        ),
        (
            history(Recall(rid, D("2024-01-10"), "ordered", "RC-1", "滑板车")),
            "G3",
            "recall",
            "责令召回（召回编号 RC-1，产品 滑板车，2024-01-10 启动），24个月内：等级上限 C",
            "ordered recall RC-1 of 滑板车 initiated 2024-01-10, "
            "within 24 months: grade capped at C",
            "2024-03-01",
        ),
    ]
    for h, rule_id, record_type, zh, en, on in cases:
        reason = _reason(h, on, rule_id)
        assert reason.record_type == record_type, rule_id
        assert (reason.explanation_zh, reason.explanation_en) == (zh, en), rule_id


def test_repair_requested_on_the_decision_day() -> None:
    v = violation("2024-03-01")
    assert repair_eligibility(v, D("2024-03-01")) == (
        "not_rectified",
        "the violation must be rectified before credit repair",
    )
    assert repair_eligibility(v, D("2024-02-29")) == (
        "not_decided",
        "the violation is decided on 2024-03-01, after 2024-02-29",
    )


# The policy is data: another version's thresholds, windows and caps are obeyed.
POLICY_OTHER = dataclasses.replace(
    POLICY_V1,
    version="test-other",
    minor_window_months=6,
    m2_cap="AA",
    voluntary_recall_window_months=6,
    ordered_recall_window_months=18,
)


def test_another_policy_is_obeyed() -> None:
    base = assessment("AAA", "2024-01-01")
    minor = evaluate(history(base, violation("2024-01-10", "minor")), D("2024-03-01"), POLICY_OTHER)
    assert (minor.grade, minor.assessed_grade, minor.policy_version) == ("AA", "AAA", "test-other")
    assert minor.holds_until == D("2024-07-09")  # the last day of a 6-month window
    voluntary = evaluate(
        history(base, recall("2024-01-10", "voluntary")), D("2024-03-01"), POLICY_OTHER
    )
    assert voluntary.grade == "AAA"
    assert voluntary.holds_until == D("2024-07-09")
    ordered = evaluate(
        history(base, recall("2024-01-10", "ordered")), D("2024-03-01"), POLICY_OTHER
    )
    assert ordered.grade == "C"
    assert ordered.holds_until == D("2025-07-09")
    assert evaluate(history(base), D("2024-03-01"), POLICY_OTHER).grade == "AAA"


def test_every_penalty_kind_is_accepted() -> None:
    v = dataclasses.replace(violation("2024-01-01"), penalty_kinds=PENALTY_KINDS)
    assert v.penalty_kinds == PENALTY_KINDS


def test_a_schedule_orders_its_versions_by_date() -> None:
    later = dataclasses.replace(POLICY_V1, version="later", effective_from=D("2027-01-01"))
    schedule = Schedule([later, POLICY_V1])
    assert [p.version for p in schedule.versions] == ["v1", "later"]
    assert schedule.in_force(D("2026-12-31")).version == "v1"
    assert schedule.in_force(D("2027-01-01")).version == "later"


def test_a_policy_alone_applies_from_the_beginning_whatever_its_date() -> None:
    alone = dataclasses.replace(POLICY_V1, version="alone", effective_from=D("2027-01-01"))
    assert evaluate(History(status="active"), D("2020-01-01"), alone).policy_version == "alone"
