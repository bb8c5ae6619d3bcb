"""Publication periods (信用信息公示期): how long a violation is public.

Policy v1 (SPEC §5): from `decided_on`, 3 months for a minor violation and 3
years otherwise. Policy v2 (SPEC §4.1) follows SAMR Order 45 of 2021
(市场监督管理行政处罚信息公示规定) as the registry encodes it:
- art. 2: only penalties decided in the ordinary procedure are published, and a
  penalty that is only a warning is not;
- art. 9: published within 20 working days of the decision (later is
  `published_late`, computed where the calendar is known);
- art. 13: the period runs from publication — 3 months when the penalty is only
  criticism (通报批评) and/or a fine of at most the province's lower amount,
  3 years otherwise, or the actual restriction when it is longer;
- art. 14: an approved repair stops it early once the minimum has passed, when
  no violation of the same kind was decided since and nothing else keeps the
  organization on the black list; never for the gravest penalties (¶3).
The period of a read is that of the version in force on the day of the read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from app.policy import policy as rules
from app.policy.months import add_months, first_day_outside
from app.policy.policy import History, Policy, Schedule, Violation

ONE_DAY = dt.timedelta(days=1)
_SHORT_KINDS = frozenset({"criticism", "fine"})


def kinds_of(v: Violation) -> frozenset[str]:
    """The penalty kinds; a record without them (before v2) is a fine if it has an amount."""
    if v.penalty_kinds:
        return frozenset(v.penalty_kinds)
    return frozenset({"fine"}) if v.penalty_amount is not None else frozenset()


def period(
    v: Violation, p: Policy, others: Sequence[Violation] = ()
) -> tuple[dt.date, dt.date] | None:
    """`(first public day, first day no longer public)` under `p`; None: never public."""
    if p.publication_rule == "severity":
        months = {
            "minor": p.publication_minor_months,
            "general": p.publication_general_months,
            "serious": p.publication_serious_months,
        }[v.severity]
        return v.decided_on, first_day_outside(v.decided_on, months)
    kinds = kinds_of(v)
    if v.procedure == "summary" or kinds == {"warning"}:  # Order 45 art. 2
        return None
    start = v.published_on or v.decided_on
    lower_fine = v.penalty_amount is None or v.penalty_amount <= p.lower_fine_max
    short = bool(kinds) and kinds <= _SHORT_KINDS and ("fine" not in kinds or lower_fine)
    months = p.publication_short_months if short else p.publication_long_months  # art. 13
    end = first_day_outside(start, months)
    if v.restriction_until is not None and v.restriction_until + ONE_DAY > end:
        end = v.restriction_until + ONE_DAY  # art. 13 ¶3: the actual restriction
    stop = _early_stop(v, p, kinds, start, others)
    if stop is not None and stop < end:
        end = max(stop, start)
    return start, end


def _early_stop(
    v: Violation, p: Policy, kinds: frozenset[str], start: dt.date, others: Sequence[Violation]
) -> dt.date | None:
    """The day an approved repair stops the publication early (Order 45 art. 14), if it does."""
    on = v.repaired_on
    if on is None or kinds & p.grave_penalty_kinds:  # art. 14 ¶3
        return None
    minimum = (
        p.early_stop_serious_months if v.severity == "serious" else p.early_stop_general_months
    )
    if on < add_months(start, minimum):  # art. 14 ¶1: the minimum has passed
        return None
    rest = [o for o in others if o.id != v.id]
    if any(  # art. 14 (3): no violation of the same kind decided since
        o.category == v.category and v.decided_on < o.decided_on <= on and o.revoked_on is None
        for o in rest
    ):
        return None
    # art. 14 (4): not on the black list for another reason
    if rules.black_list_records(History(status="active", violations=tuple(rest)), on, p):
        return None
    return on


def is_public(
    v: Violation, on: dt.date, schedule: Policy | Schedule, others: Sequence[Violation] = ()
) -> bool:
    """Whether `v` is inside its publication period on `on`, under the version in force then."""
    p = rules.as_schedule(schedule).in_force(on)
    found = period(v, p, others)
    return found is not None and found[0] <= on < found[1]


def public_until(
    v: Violation, on: dt.date, schedule: Policy | Schedule, others: Sequence[Violation] = ()
) -> dt.date:
    """The first day `v` is no longer public under the version in force on `on`."""
    p = rules.as_schedule(schedule).in_force(on)
    found = period(v, p, others)
    return found[1] if found is not None else v.decided_on
