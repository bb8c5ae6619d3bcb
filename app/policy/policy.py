"""Credit policy `v1` (SPEC §4): a pure function of an organization's records and a date.

No database and no clock. The services build a `History` from rows, call
`evaluate(history, as_of)` and store the `CreditResult`. Time travel is exact:
records dated after `as_of` do not exist for it, and a status change
(rectified, revoked, repaired) counts only from its own date. The policy itself
is data (`Policy`), so every result names the version that produced it.

The evaluation of a history can only change on a *change date*: a record's or a
status change's date, the first day a record leaves one of its windows, or the
day after an assessment expires. Between two change dates it is constant; that
is what `holds_until`, `expected_exit` and `black_listed_since` are built on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from app.policy.facts import ComplaintFact, NoticeFact, ObjectionFact
from app.policy.months import add_months, first_day_outside, within

GRADES = ("AAA", "AA", "A", "B", "C", "D")  # best first
A_LEVEL_GRADES = frozenset({"AAA", "AA", "A"})
SEVERITIES = ("minor", "general", "serious")
INSPECTION_RESULTS = ("pass", "fail")
RECALL_KINDS = ("voluntary", "ordered")
STATUSES = ("active", "deregistered")
INFO = "info"  # the effect of a reason that caps nothing
RULE_ORDER = ("BASE", "S1", "S2", "G1", "G2", "G3", "M1", "M2", "M3", "C1", "V1")
PROCEDURES = ("ordinary", "summary")
# SAMR Order 45 of 2021 art. 13 and 14: the kinds of administrative penalty.
PENALTY_KINDS = (
    "warning",
    "criticism",  # 通报批评
    "fine",
    "confiscation",
    "suspension",  # 责令停产停业
    "licence_revoked",  # 吊销许可证件或营业执照
    "restriction",  # 限制开展生产经营活动或从业
    "qualification_lowered",  # 降低资质等级
)
BLACK_LIST_RULES = frozenset({"S1", "S2"})

_ONE_DAY = timedelta(days=1)
_RULE_RANK = {rule_id: rank for rank, rule_id in enumerate(RULE_ORDER)}
_GRADE_RANK = {grade: rank for rank, grade in enumerate(GRADES)}
_SEVERITY_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}
_RECALL_ZH = {"voluntary": "主动召回", "ordered": "责令召回"}


def _require(value: str, allowed: Iterable[str], field: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}, not {value!r}")


# --- input records ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    id: uuid.UUID
    grade: str  # AAA AA A B C D
    assessed_on: date
    valid_until: date | None
    authority: str = ""

    def __post_init__(self) -> None:
        _require(self.grade, GRADES, "grade")


@dataclass(frozen=True, slots=True)
class Violation:
    id: uuid.UUID
    case_no: str
    authority: str
    decided_on: date
    severity: str  # minor | general | serious
    rectified_on: date | None = None
    revoked_on: date | None = None
    repaired_on: date | None = None
    public_summary: str = ""
    # Since policy v2 (SPEC §4.1); policy v1 reads none of them.
    category: str = ""
    procedure: str = "ordinary"  # ordinary | summary
    penalty_kinds: tuple[str, ...] = ()
    penalty_amount: Decimal | None = None
    restriction_until: date | None = None
    published_on: date | None = None  # None: decided_on

    def __post_init__(self) -> None:
        _require(self.severity, SEVERITIES, "severity")
        _require(self.procedure, PROCEDURES, "procedure")
        for kind in self.penalty_kinds:
            _require(kind, PENALTY_KINDS, "penalty_kinds")


@dataclass(frozen=True, slots=True)
class Inspection:
    id: uuid.UUID
    inspected_on: date
    result: str  # pass | fail
    rectified_on: date | None = None
    report_no: str = ""

    def __post_init__(self) -> None:
        _require(self.result, INSPECTION_RESULTS, "result")


@dataclass(frozen=True, slots=True)
class Recall:
    id: uuid.UUID
    initiated_on: date
    kind: str  # voluntary | ordered
    recall_no: str = ""
    product_name: str = ""

    def __post_init__(self) -> None:
        _require(self.kind, RECALL_KINDS, "kind")


@dataclass(frozen=True, slots=True)
class History:
    status: str  # active | deregistered
    assessments: tuple[Assessment, ...] = ()  # in recording order
    violations: tuple[Violation, ...] = ()
    inspections: tuple[Inspection, ...] = ()
    recalls: tuple[Recall, ...] = ()
    # Inputs of policy v2 from outside the organization's records (app/policy/facts.py).
    complaints: tuple[ComplaintFact, ...] = ()
    notices: tuple[NoticeFact, ...] = ()
    objections: tuple[ObjectionFact, ...] = ()

    def __post_init__(self) -> None:
        _require(self.status, STATUSES, "status")


# --- policy and result ------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Every threshold, window and cap of one policy version (SPEC §4.6)."""

    version: str
    default_grade: str  # the base when no assessment is valid
    serious_window_months: int  # S1; M1 for a repaired serious violation
    general_window_months: int  # G1; M1 for a rectified general violation
    minor_window_months: int  # M2
    inspection_window_months: int  # G2, M3
    s2_min_count: int
    s2_window_months: int
    ordered_recall_window_months: int  # G3
    voluntary_recall_window_months: int  # V1
    s1_cap: str
    s2_cap: str
    g1_cap: str
    g2_cap: str
    g3_cap: str
    m1_cap: str
    m2_cap: str
    m3_cap: str
    repair_wait_serious_months: int
    repair_wait_general_months: int
    publication_minor_months: int
    publication_general_months: int
    publication_serious_months: int
    # Since v2 (SPEC §4.1). The defaults are v1's: none of it applies.
    effective_from: date = date.min
    c1_min_count: int = 0  # 0: no rule C1
    c1_window_months: int = 12
    c1_cap: str = "B"
    notice_before_black_list: bool = False  # 事先告知 (SPEC §9)
    disputed_reasons: bool = False
    objection_window_days: int = 10  # calendar days from delivery of the notice
    objection_decision_working_days: int = 7
    approval_expiry_working_days: int = 10
    # "severity": v1's periods from decided_on; "order45": SAMR Order 45 of 2021.
    publication_rule: str = "severity"
    publication_short_months: int = 3  # Order 45 art. 13: criticism or a lower fine
    publication_long_months: int = 36  # Order 45 art. 13: otherwise
    lower_fine_max: Decimal = Decimal("10000")  # art. 13 ¶2: set by the province
    early_stop_general_months: int = 3  # art. 14: the minimum before an early stop
    early_stop_serious_months: int = 12
    publication_due_working_days: int = 20  # art. 9: published within 20 working days
    grave_penalty_kinds: frozenset[str] = field(
        # art. 14 ¶3: never stopped early
        default=frozenset({"suspension", "licence_revoked", "restriction", "qualification_lowered"})
    )


class Schedule:
    """Policy versions over time: each applies from its `effective_from` (SPEC §4.1)."""

    def __init__(self, versions: Sequence[Policy]) -> None:
        self.versions = tuple(sorted(versions, key=lambda p: p.effective_from))
        if not self.versions or self.versions[0].effective_from != date.min:
            raise ValueError("the first policy version applies from the beginning")

    def in_force(self, on: date) -> Policy:
        return [p for p in self.versions if p.effective_from <= on][-1]

    def boundaries(self) -> tuple[date, ...]:
        return tuple(p.effective_from for p in self.versions[1:])

    def first_with(self, feature: str) -> date | None:
        """The first day a version with `feature` (a true attribute) applies."""
        return next((p.effective_from for p in self.versions if getattr(p, feature)), None)


def as_schedule(policy: Policy | Schedule) -> Schedule:
    return (
        policy
        if isinstance(policy, Schedule)
        else Schedule([replace(policy, effective_from=date.min)])
    )


POLICY_V1 = Policy(
    version="v1",
    default_grade="B",
    serious_window_months=36,
    general_window_months=12,
    minor_window_months=12,
    inspection_window_months=12,
    s2_min_count=3,
    s2_window_months=12,
    ordered_recall_window_months=24,
    voluntary_recall_window_months=24,
    s1_cap="D",
    s2_cap="D",
    g1_cap="C",
    g2_cap="C",
    g3_cap="C",
    m1_cap="B",
    m2_cap="B",
    m3_cap="B",
    repair_wait_serious_months=12,
    repair_wait_general_months=3,
    publication_minor_months=3,
    publication_general_months=36,
    publication_serious_months=36,
)


@dataclass(frozen=True, slots=True)
class Reason:
    rule_id: str
    effect: str  # a grade cap like "D", "info", or for BASE the base grade
    record_type: str  # grade_assessment | violation | inspection | recall
    record_id: uuid.UUID | None
    explanation_zh: str
    explanation_en: str
    disputed: bool = False  # v2: the record is under objection (it still counts)


@dataclass(frozen=True, slots=True)
class CreditResult:
    grade: str
    assessed_grade: str  # the base grade
    a_level: bool
    red_list: bool
    black_list: bool
    reasons: tuple[Reason, ...]
    policy_version: str
    as_of: date
    holds_until: date | None  # last day this result holds with no new write; None: forever
    expected_exit: date | None  # if black-listed: first day no S rule holds, absent new writes
    black_list_pending: bool = False  # v2: an S rule holds, the notice's window has not passed
    notice_id: uuid.UUID | None = None  # v2: the notice of the episode, while pending


# --- evaluation ---------------------------------------------------------------


def evaluate(history: History, as_of: date, policy: Policy | Schedule = POLICY_V1) -> CreditResult:
    """The credit of `history` on the valid date `as_of` under `policy`, or under the
    version of a schedule in force on `as_of` (SPEC §4, §4.1)."""
    schedule = as_schedule(policy)
    p = schedule.in_force(as_of)
    base_reason = _base_reason(history.assessments, as_of, p)
    rules = _rule_reasons(history, as_of, p)
    if p.disputed_reasons:
        rules = _mark_disputed(rules, history.objections, as_of)
    s_holds = any(r.rule_id in BLACK_LIST_RULES for r in rules)
    black_list, notice = _listing(history, as_of, schedule) if s_holds else (False, None)
    pending = s_holds and not black_list
    if pending:
        rules = tuple(_pending_reason(r, notice) for r in rules)
    reasons = (base_reason, *rules)
    grade = max((r.effect for r in reasons if r.effect != INFO), key=_GRADE_RANK.__getitem__)
    a_level = grade in A_LEVEL_GRADES
    following = [d for d in _change_dates(history, schedule) if d > as_of]
    return CreditResult(
        grade=grade,
        assessed_grade=base_reason.effect,
        a_level=a_level,
        red_list=a_level and history.status == "active",
        black_list=black_list,
        reasons=reasons,
        policy_version=p.version,
        as_of=as_of,
        holds_until=min(following) - _ONE_DAY if following else None,
        expected_exit=_expected_exit(history, as_of, schedule) if s_holds else None,
        black_list_pending=pending,
        notice_id=notice.id if pending and notice is not None else None,
    )


def black_listed_since(
    history: History, as_of: date, policy: Policy | Schedule = POLICY_V1
) -> date | None:
    """First day of the unbroken black-list stretch that includes `as_of`; None if not listed."""
    schedule = as_schedule(policy)
    if not _black_listed(history, as_of, schedule):
        return None
    # Listing can only begin on a change date. Walk them back from as_of until the
    # day before one is not listed; the earliest change date always qualifies,
    # since nothing is listed before any record exists.
    candidates = sorted((d for d in _change_dates(history, schedule) if d <= as_of), reverse=True)
    return next(d for d in candidates if not _black_listed(history, d - _ONE_DAY, schedule))


def episode_start(history: History, as_of: date, policy: Policy | Schedule = POLICY_V1) -> date:
    """First day of the unbroken stretch in which an S rule holds that includes `as_of`
    (an episode, SPEC §9); `as_of` must be in one."""
    schedule = as_schedule(policy)
    candidates = sorted((d for d in _change_dates(history, schedule) if d <= as_of), reverse=True)
    return next(d for d in candidates if not _s_holds(history, d - _ONE_DAY, schedule))


def _s_holds(history: History, as_of: date, schedule: Schedule) -> bool:
    p = schedule.in_force(as_of)
    return any(r.rule_id in BLACK_LIST_RULES for r in _rule_reasons(history, as_of, p))


def _black_listed(history: History, as_of: date, schedule: Schedule) -> bool:
    return _s_holds(history, as_of, schedule) and _listing(history, as_of, schedule)[0]


def _listing(history: History, as_of: date, schedule: Schedule) -> tuple[bool, NoticeFact | None]:
    """With an S rule holding on `as_of`: whether the organization is black-listed, and
    the notice of its episode (SPEC §9: only once the notice was delivered, its
    objection deadline is before `as_of`, and no objection filed in time is open
    or upheld; episodes begun before the first version with notices need none)."""
    p = schedule.in_force(as_of)
    notices_from = schedule.first_with("notice_before_black_list")
    if not p.notice_before_black_list or notices_from is None:
        return True, None
    start = episode_start(history, as_of, schedule)
    if start < notices_from:
        return True, None
    served = [
        n
        for n in history.notices
        if start <= n.served_on <= as_of and not _effective(n.withdrawn_on, as_of)
    ]
    if not served:
        return False, None
    notice = max(served, key=lambda n: (n.served_on, str(n.id)))
    deadline = notice.objection_deadline
    if not _effective(notice.delivered_on, as_of) or deadline is None or deadline >= as_of:
        return False, notice
    basis = {("notice", notice.id)} | {
        (r.record_type, r.record_id)
        for r in _rule_reasons(history, as_of, p)
        if r.rule_id in BLACK_LIST_RULES
    }
    blocked = any(
        (o.record_type, o.record_id) in basis
        and o.opened_on <= deadline  # filed in time
        and (o.open_on(as_of) or o.upheld_by(as_of))
        for o in history.objections
    )
    return not blocked, notice


def _mark_disputed(
    reasons: tuple[Reason, ...], objections: tuple[ObjectionFact, ...], as_of: date
) -> tuple[Reason, ...]:
    """A record under objection still counts; its reason says it is disputed (§4.1)."""
    open_ = {(o.record_type, o.record_id) for o in objections if o.open_on(as_of)}
    return tuple(
        replace(r, disputed=True) if (r.record_type, r.record_id) in open_ else r for r in reasons
    )


def _pending_reason(reason: Reason, notice: NoticeFact | None) -> Reason:
    if reason.rule_id not in BLACK_LIST_RULES:
        return reason
    # The notice is named by `notice_id` in the result, not in the text: reasons
    # reach public pages, notices never do (SPEC §9).
    if notice is None or notice.objection_deadline is None:
        zh, en = "；待事先告知期满后列入黑名单", "; black list pending: notice period"
    else:
        until = notice.objection_deadline
        zh = f"；已事先告知，异议期（至 {until}）届满后列入黑名单"
        en = f"; black list pending: objections until {until}"
    return replace(
        reason, explanation_zh=reason.explanation_zh + zh, explanation_en=reason.explanation_en + en
    )


def _expected_exit(history: History, as_of: date, schedule: Schedule) -> date:
    # Freeze the violations as known on as_of (only violations decide the S rules),
    # then walk their change dates forward: the first one on which no S rule holds
    # is the exit. Every S rule has a window, so one is.
    frozen = History(status=history.status, violations=_known_on(history.violations, as_of))
    following = sorted(d for d in _change_dates(frozen, schedule) if d > as_of)
    return next(d for d in following if not _s_holds(frozen, d, schedule))


def _known_on(violations: tuple[Violation, ...], as_of: date) -> tuple[Violation, ...]:
    """The violations decided by `as_of`, without status changes dated after it."""

    def on(d: date | None) -> date | None:
        return d if d is not None and d <= as_of else None

    return tuple(
        replace(v, revoked_on=on(v.revoked_on), repaired_on=on(v.repaired_on))
        for v in violations
        if v.decided_on <= as_of
    )


def _effective(d: date | None, as_of: date) -> bool:
    """Whether a status change dated `d` has happened by `as_of`."""
    return d is not None and d <= as_of


def _base_reason(assessments: tuple[Assessment, ...], as_of: date, policy: Policy) -> Reason:
    valid = [
        (a.assessed_on, index, a)
        for index, a in enumerate(assessments)
        if a.assessed_on <= as_of and (a.valid_until is None or a.valid_until >= as_of)
    ]
    if not valid:
        grade = policy.default_grade
        return Reason(
            "BASE",
            grade,
            "grade_assessment",
            None,
            f"无有效评定等级：基础等级 {grade}",
            f"no valid assessment, base {grade}",
        )
    # The latest assessment wins; on the same day, the one recorded later (the
    # index is unique, so the tuples never tie).
    _, _, a = max(valid)
    by_zh = f"，{a.authority}" if a.authority else ""
    by_en = f" by {a.authority}" if a.authority else ""
    until_zh = f"有效期至 {a.valid_until}" if a.valid_until else "长期有效"
    until_en = f"valid until {a.valid_until}" if a.valid_until else "no expiry"
    return Reason(
        "BASE",
        a.grade,
        "grade_assessment",
        a.id,
        f"评定等级 {a.grade}（{a.assessed_on} 评定{by_zh}，{until_zh}）：基础等级 {a.grade}",
        f"assessment {a.grade} of {a.assessed_on}{by_en}, {until_en}: base grade {a.grade}",
    )


def _rule_reasons(history: History, as_of: date, policy: Policy) -> tuple[Reason, ...]:
    """Every capping or informative reason, in rule order, then record date, then id."""
    found = [
        *_violation_reasons(history.violations, as_of, policy),
        *_inspection_reasons(history.inspections, as_of, policy),
        *_recall_reasons(history.recalls, as_of, policy),
        *_complaint_reasons(history.complaints, as_of, policy),
    ]
    found.sort(key=lambda f: (_RULE_RANK[f[2].rule_id], f[0], f[1]))
    return tuple(reason for _, _, reason in found)


# What a reason says after naming its record, by template; `cap` is the reason's effect.
_TAILS = {
    "S1": (
        "{n}个月内未撤销、未修复：等级上限 {cap}，列入黑名单",
        "within {n} months, not revoked or repaired: grade capped at {cap}, black list",
    ),
    "S2": (
        "{n}个月内一般或严重质量违法行为共 {count} 起（{least} 起及以上）："
        "等级上限 {cap}，列入黑名单",
        "one of {count} general or serious violations within {n} months ({least} or more): "
        "grade capped at {cap}, black list",
    ),
    "G1": (
        "{n}个月内未撤销、未整改：等级上限 {cap}",
        "within {n} months, not revoked or rectified: grade capped at {cap}",
    ),
    "G2": (
        "{n}个月内未整改：等级上限 {cap}",
        "within {n} months, not rectified: grade capped at {cap}",
    ),
    "G3": ("{n}个月内：等级上限 {cap}", "within {n} months: grade capped at {cap}"),
    "rectified": (
        "已于 {on} 整改，{n}个月内：等级上限 {cap}",
        "rectified {on}, within {n} months: grade capped at {cap}",
    ),
    "repaired": (
        "已于 {on} 完成信用修复，{n}个月内：等级上限 {cap}",
        "credit repaired {on}, within {n} months: grade capped at {cap}",
    ),
    "M2": (
        "{n}个月内未撤销：等级上限 {cap}",
        "within {n} months, not revoked: grade capped at {cap}",
    ),
    "V1": ("{n}个月内：仅作提示，不影响等级", "within {n} months: for information, no grade cap"),
}

_Found = tuple[date, uuid.UUID, Reason]  # the record's date and id, to sort by


def _found(
    rule_id: str, effect: str, record: Violation | Inspection | Recall, tail: str, **fields: object
) -> _Found:
    record_type, record_date, head_zh, head_en = _describe(record)
    tail_zh, tail_en = _TAILS[tail]
    zh = head_zh + tail_zh.format(cap=effect, **fields)
    en = head_en + tail_en.format(cap=effect, **fields)
    return record_date, record.id, Reason(rule_id, effect, record_type, record.id, zh, en)


def _describe(record: Violation | Inspection | Recall) -> tuple[str, date, str, str]:
    """The record's type and date, and how a reason names it (zh, en)."""
    if isinstance(record, Violation):
        name, on = record.case_no or str(record.id), record.decided_on
        zh = f"{_SEVERITY_ZH[record.severity]}质量违法行为（案号 {name}，{on} 决定），"
        return "violation", on, zh, f"{record.severity} violation {name} decided {on}, "
    if isinstance(record, Inspection):
        name, on = record.report_no or str(record.id), record.inspected_on
        zh = f"监督抽查不合格（报告 {name}，{on} 抽查），"
        return "inspection", on, zh, f"failed inspection {name} of {on}, "
    name, on = record.recall_no or str(record.id), record.initiated_on
    product_zh = f"，产品 {record.product_name}" if record.product_name else ""
    product_en = f" of {record.product_name}" if record.product_name else ""
    zh = f"{_RECALL_ZH[record.kind]}（召回编号 {name}{product_zh}，{on} 启动），"
    return "recall", on, zh, f"{record.kind} recall {name}{product_en} initiated {on}, "


def _violation_reasons(
    violations: tuple[Violation, ...], as_of: date, p: Policy
) -> Iterator[_Found]:
    # A violation revoked by as_of is as if it never existed, for every rule.
    standing = [
        v for v in violations if v.decided_on <= as_of and not _effective(v.revoked_on, as_of)
    ]
    for v in standing:
        if v.severity == "serious" and within(v.decided_on, as_of, n := p.serious_window_months):
            if _effective(v.repaired_on, as_of):
                yield _found("M1", p.m1_cap, v, "repaired", n=n, on=v.repaired_on)
            else:
                yield _found("S1", p.s1_cap, v, "S1", n=n)
        elif v.severity == "general" and within(v.decided_on, as_of, n := p.general_window_months):
            if _effective(v.rectified_on, as_of):
                yield _found("M1", p.m1_cap, v, "rectified", n=n, on=v.rectified_on)
            else:
                yield _found("G1", p.g1_cap, v, "G1", n=n)
        elif v.severity == "minor" and within(v.decided_on, as_of, n := p.minor_window_months):
            yield _found("M2", p.m2_cap, v, "M2", n=n)

    # S2 counts rectified and repaired violations too: only revocation removes one.
    n = p.s2_window_months
    counted = [
        v
        for v in standing
        if v.severity in ("general", "serious") and within(v.decided_on, as_of, n)
    ]
    if len(counted) >= p.s2_min_count:
        for v in counted:
            yield _found("S2", p.s2_cap, v, "S2", n=n, count=len(counted), least=p.s2_min_count)


def _inspection_reasons(
    inspections: tuple[Inspection, ...], as_of: date, p: Policy
) -> Iterator[_Found]:
    n = p.inspection_window_months
    for i in inspections:
        if i.result == "fail" and within(i.inspected_on, as_of, n):
            if _effective(i.rectified_on, as_of):
                yield _found("M3", p.m3_cap, i, "rectified", n=n, on=i.rectified_on)
            else:
                yield _found("G2", p.g2_cap, i, "G2", n=n)


def _recall_reasons(recalls: tuple[Recall, ...], as_of: date, p: Policy) -> Iterator[_Found]:
    for r in recalls:
        if r.kind == "ordered" and within(
            r.initiated_on, as_of, n := p.ordered_recall_window_months
        ):
            yield _found("G3", p.g3_cap, r, "G3", n=n)
        elif r.kind == "voluntary" and within(
            r.initiated_on, as_of, n := p.voluntary_recall_window_months
        ):
            # The policy rewards voluntary recalls: listed for information, capping nothing.
            yield _found("V1", INFO, r, "V1", n=n)


def _complaint_reasons(
    complaints: tuple[ComplaintFact, ...], as_of: date, p: Policy
) -> Iterator[_Found]:
    """C1 (§4.1, §10): substantiated complaints within the window; a cluster of
    identical ones (same GTIN, lot and category) counts once, named by its latest."""
    if not p.c1_min_count:
        return
    n = p.c1_window_months
    clusters: dict[tuple[str | None, str | None, str], ComplaintFact] = {}
    for c in complaints:
        if within(c.substantiated_on, as_of, n):
            # The latest names the cluster (on one day, the greater id; on a full tie,
            # the first given, which is the same complaint again).
            seen = clusters.get(c.cluster, c)
            clusters[c.cluster] = max(seen, c, key=lambda x: (x.substantiated_on, str(x.id)))
    if len(clusters) < p.c1_min_count:
        return
    count, cap = len(clusters), p.c1_cap
    for c in clusters.values():
        what = "/".join(x for x in (c.gtin, c.lot, c.category) if x)
        zh = (
            f"经查证属实的投诉（{what}，{c.substantiated_on} 查实），{n}个月内共 {count} 起"
            f"（{p.c1_min_count} 起及以上）：等级上限 {cap}"
        )
        en = (
            f"substantiated complaint {what} of {c.substantiated_on}, one of {count} within "
            f"{n} months ({p.c1_min_count} or more): grade capped at {cap}"
        )
        ident = c.id or uuid.UUID(int=0)
        yield c.substantiated_on, ident, Reason("C1", cap, "complaint", c.id, zh, en)


def _change_dates(history: History, schedule: Schedule) -> set[date]:
    """Every day on which the evaluation of `history` may differ from the day before.

    Facts only a later version reads (complaints, notices, objections) count from
    that version's `effective_from` on, so that an earlier day's result is exactly
    the earlier version's."""
    dates: set[date] = set(schedule.boundaries())
    for p in {id(v): v for v in schedule.versions}.values():
        dates |= _record_change_dates(history, p)
    c1_from = schedule.first_with("c1_min_count")
    if c1_from is not None:
        c1 = next(p for p in schedule.versions if p.c1_min_count)
        for c in history.complaints:
            # A day before the version counts as its first day, a boundary and so a
            # change date anyway (here and below: no comparison that could be off by one).
            dates.update(
                max(d, c1_from)
                for d in (
                    c.substantiated_on,
                    first_day_outside(c.substantiated_on, c1.c1_window_months),
                )
            )
    due_from = [
        d
        for d in (
            schedule.first_with("notice_before_black_list"),
            schedule.first_with("disputed_reasons"),
        )
        if d is not None
    ]
    if due_from:
        since = min(due_from)
        for n in history.notices:
            deadline_passed = n.objection_deadline + _ONE_DAY if n.objection_deadline else None
            days = (n.served_on, n.delivered_on, deadline_passed, n.withdrawn_on)
            dates.update(max(day, since) for day in days if day is not None)
        for o in history.objections:
            dates.update(max(d, since) for d in (o.opened_on, o.decided_on) if d is not None)
    return dates


def _record_change_dates(history: History, policy: Policy) -> set[date]:
    """The change dates of the organization's own records under one version."""
    dates: set[date] = set()
    for a in history.assessments:
        dates.add(a.assessed_on)
        if a.valid_until is not None:
            dates.add(a.valid_until + _ONE_DAY)
    for v in history.violations:
        dates.update(d for d in (v.decided_on, v.rectified_on, v.revoked_on, v.repaired_on) if d)
        windows = {
            "serious": (policy.serious_window_months, policy.s2_window_months),
            "general": (policy.general_window_months, policy.s2_window_months),
            "minor": (policy.minor_window_months,),
        }[v.severity]
        exits = (first_day_outside(v.decided_on, months) for months in windows)
        # Once revoked, a violation never matters again, so later exits change nothing
        # (an exit after the revocation becomes the revocation's date, a change date).
        dates.update(e if v.revoked_on is None else min(e, v.revoked_on) for e in exits)
    for i in history.inspections:
        if i.result == "fail":
            dates.add(i.inspected_on)
            dates.add(first_day_outside(i.inspected_on, policy.inspection_window_months))
            if i.rectified_on is not None:
                dates.add(i.rectified_on)
    for r in history.recalls:
        months = (
            policy.ordered_recall_window_months
            if r.kind == "ordered"
            else policy.voluntary_recall_window_months
        )
        dates.update((r.initiated_on, first_day_outside(r.initiated_on, months)))
    return dates


# --- credit repair and publication ------------------------------------------------


def repair_eligibility(
    v: Violation, on: date, policy: Policy = POLICY_V1
) -> tuple[str, str] | None:
    """None if credit repair of `v` may be requested on `on`, else (code, English reason)."""
    if v.decided_on > on:
        return "not_decided", f"the violation is decided on {v.decided_on}, after {on}"
    if _effective(v.revoked_on, on):
        return "revoked", f"the violation was revoked on {v.revoked_on}; nothing to repair"
    if _effective(v.repaired_on, on):
        return "already_repaired", f"credit was already repaired on {v.repaired_on}"
    if v.severity == "minor":
        return "minor", (
            "minor violations are not subject to credit repair; "
            f"they cap at {policy.m2_cap} only within {policy.minor_window_months} months"
        )
    if not _effective(v.rectified_on, on):
        return "not_rectified", "the violation must be rectified before credit repair"
    wait = (
        policy.repair_wait_serious_months
        if v.severity == "serious"
        else policy.repair_wait_general_months
    )
    eligible_from = add_months(v.decided_on, wait)
    if on < eligible_from:
        return "too_early", (
            f"a {v.severity} violation may be repaired {wait} months after its decision "
            f"({v.decided_on}): eligible from {eligible_from}"
        )
    return None


def is_public(v: Violation, today: date, policy: Policy = POLICY_V1) -> bool:
    """Whether `v` is within its publication period (信用信息公示期) on `today`."""
    months = {
        "minor": policy.publication_minor_months,
        "general": policy.publication_general_months,
        "serious": policy.publication_serious_months,
    }[v.severity]
    return within(v.decided_on, today, months)


def black_list_records(history: History, on: date, policy: Policy = POLICY_V1) -> set[uuid.UUID]:
    """The records an S rule names on `on` (whatever the notices)."""
    return {
        r.record_id
        for r in _rule_reasons(history, on, policy)
        if r.rule_id in BLACK_LIST_RULES and r.record_id is not None
    }
