"""The pure rules of a complaint's or report's life: which move is allowed, and
the working-day clocks (市场监督管理投诉举报处理暂行办法).

- art. 14: a complaint is accepted or rejected within 7 working days of receipt;
- art. 15: the reasons a complaint is not accepted (REJECT_REASONS);
- art. 20: time spent on testing (检定、检验、检测、鉴定) does not count in mediation;
- art. 21: the reasons mediation ends (TERMINATE_REASONS), (5) 45 working days
  after acceptance without an agreement;
- art. 23 (and art. 31 for the case decision): a lead of a violation is verified
  within 15 working days, extendable by 15 in special cases — the registry's
  report clock, extended once, with a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.calendar.days import MAX_STEPS, ONE_DAY, WorkCalendar

DECIDE_COMPLAINT_DAYS = 7  # art. 14
MEDIATION_DAYS = 45  # art. 21 (5)
VERIFY_REPORT_DAYS = 15  # art. 23
EXTENSION_DAYS = 15  # art. 23, once

# art. 15 (1)-(6)
REJECT_REASONS = {
    "not_competent": (
        "投诉事项不属于市场监督管理部门职责，或者本行政机关不具有处理权限（第十五条第一项）"
    ),
    "already_handled": "同一消费者权益争议已经受理或者处理过（第十五条第二项）",
    "not_consumer": "不是为生活消费需要，或者不能证明存在消费者权益争议（第十五条第三项）",
    "time_barred": "知道或者应当知道权益受到侵害之日起超过三年（第十五条第四项）",
    "materials_missing": "未提供第九条第一款和第十条规定的材料（第十五条第五项）",
    "other_law": "法律、法规、规章规定不予受理的其他情形（第十五条第六项）",
}
# art. 21 (1)-(7)
TERMINATE_REASONS = {
    "withdrawn_or_settled": "投诉人撤回投诉或者双方自行和解（第二十一条第一项）",
    "testing_disagreement": "对检定、检验、检测、鉴定机构或者费用无法协商一致（第二十一条第二项）",
    "refused": "无正当理由不参加调解，或者被投诉人明确拒绝调解（第二十一条第三项）",
    "no_agreement": "明确表示无法达成调解协议（第二十一条第四项）",
    "time_limit": "自投诉受理之日起四十五个工作日内未能达成调解协议（第二十一条第五项）",
    "inadmissible": "受理后发现存在第十五条规定情形（第二十一条第六项）",
    "other_law": "法律、法规、规章规定应当终止调解的其他情形（第二十一条第七项）",
}

FINAL = {
    "complaint": frozenset({"rejected", "resolved", "terminated"}),
    "report": frozenset({"case_opened", "closed"}),
}
MOVES = {
    "complaint": {
        "received": frozenset({"accepted", "rejected"}),
        "accepted": frozenset({"mediating", "terminated"}),
        "mediating": frozenset({"mediating", "resolved", "terminated"}),  # mediating: testing
    },
    "report": {
        "received": frozenset({"verified", "extended"}),  # extended: the clock, once
        "verified": frozenset({"case_opened", "closed"}),
    },
}
# The outcome must be marked when resolving or closing (SPEC §10); it may be on the others.
SUBSTANTIATED_REQUIRED = frozenset({"resolved", "closed"})
SUBSTANTIATED_ALLOWED = frozenset({"resolved", "closed", "terminated", "case_opened"})


def allowed(kind: str, status: str, to: str) -> bool:
    return to in MOVES[kind].get(status, frozenset())


def is_final(kind: str, status: str) -> bool:
    return status in FINAL[kind]


def decision_due(calendar: WorkCalendar, kind: str, received_on: dt.date) -> dt.date:
    days = DECIDE_COMPLAINT_DAYS if kind == "complaint" else VERIFY_REPORT_DAYS
    return calendar.working_deadline(received_on, days)


def extended_due(calendar: WorkCalendar, due_on: dt.date) -> dt.date:
    return calendar.working_deadline(due_on, EXTENSION_DAYS)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def mediation_due(calendar: WorkCalendar, accepted_on: dt.date, testing: list[Period]) -> dt.date:
    """The day the 45th working day of mediation ends, days under testing not
    counted (art. 20, art. 21 (5))."""
    day, counted = accepted_on, 0
    for _ in range(MAX_STEPS):
        if counted == MEDIATION_DAYS:
            return day
        day += ONE_DAY
        if calendar.is_working_day(day) and not any(p.covers(day) for p in testing):
            counted += 1
    raise ValueError("no mediation deadline within ten years")


def current_due(
    status: str, decision_due_on: dt.date, mediation_due_on: dt.date | None
) -> dt.date | None:
    """The deadline the case runs against now (None once nothing is due)."""
    if status == "received":
        return decision_due_on
    if status in ("accepted", "mediating"):
        return mediation_due_on
    return None
