"""An organization's grade over the last five years, as a small server-rendered SVG
(SPEC §8.1): what people would rather look at than read.

The steps are the engine's own answers: `policy.evaluate` as of the first day of
the span, then again on every day the answer may change — a record's own date
(an assessment, a decision, a rectification…) or the day after the previous
answer's `holds_until` (a window passing). List publications that named the
organization are marked on their `as_of`. No JavaScript; the same facts are
listed in text under the picture.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select

from app.core.database import Reader
from app.credit import history
from app.lists.models import ListEntry, ListPublication
from app.organizations.models import Organization
from app.policy import policy
from app.policy.months import add_months

YEARS = 5
MAX_STEPS = 400  # a bound on evaluations per page, whatever the history
GRADES = ("AAA", "AA", "A", "B", "C", "D")
WIDTH, HEIGHT = 480, 210
LEFT, RIGHT, TOP, BOTTOM = 50, 14, 12, 44


@dataclass(frozen=True)
class Step:
    since: dt.date
    grade: str
    red_list: bool
    black_list: bool


@dataclass(frozen=True)
class Mark:
    on: dt.date
    kind: str  # red | black
    number: int


def _record_dates(hist: policy.History) -> set[dt.date]:
    """Every date a record carries, and the day after each validity ends."""
    dates: set[dt.date] = set()
    records: tuple[Any, ...] = (*hist.assessments, *hist.violations, *hist.inspections)
    for record in (*records, *hist.recalls):
        for field in dataclasses.fields(record):
            value = getattr(record, field.name)
            if isinstance(value, dt.date):
                dates.add(value)
                if field.name == "valid_until":
                    dates.add(value + dt.timedelta(days=1))
    return dates


def grade_steps(hist: policy.History, start: dt.date, end: dt.date) -> list[Step]:
    """The engine's grade from `start` to `end`, one step per change (pure)."""
    dates = sorted(d for d in _record_dates(hist) if start < d <= end)
    steps: list[Step] = []
    on = start
    for _ in range(MAX_STEPS):
        result = policy.evaluate(hist, on)
        step = Step(on, result.grade, result.red_list, result.black_list)
        if not steps or (steps[-1].grade, steps[-1].red_list, steps[-1].black_list) != (
            step.grade,
            step.red_list,
            step.black_list,
        ):
            steps.append(step)
        candidates = [d for d in dates if d > on]
        if result.holds_until is not None:
            candidates.append(result.holds_until + dt.timedelta(days=1))
        following = [d for d in candidates if on < d <= end]
        if not following:
            break
        on = min(following)
    return steps


async def marks(session: Reader, uscc: str, start: dt.date) -> list[Mark]:
    """Publications since `start` that named the organization."""
    rows = await session.execute(
        select(ListPublication.as_of, ListPublication.kind, ListPublication.number)
        .join(
            ListEntry,
            (ListEntry.kind == ListPublication.kind) & (ListEntry.number == ListPublication.number),
        )
        .where(ListEntry.uscc == uscc, ListPublication.as_of >= start)
        .order_by(ListPublication.as_of, ListPublication.kind, ListPublication.number)
        .limit(200)
    )
    return [Mark(on, kind, number) for on, kind, number in rows]


@dataclass(frozen=True)
class Timeline:
    start: dt.date
    end: dt.date
    steps: list[Step]
    marks: list[Mark]

    @property
    def svg(self) -> Markup:
        return render_svg(self)


async def for_organization(session: Reader, org: Organization, end: dt.date) -> Timeline:
    """The last five years of `org` up to `end` (today)."""
    start = add_months(end, -12 * YEARS)
    hist = (await history.current(session, {org.id: org.status}))[org.id]
    return Timeline(
        start, end, grade_steps(hist, start, end), await marks(session, org.uscc, start)
    )


def render_svg(t: Timeline) -> Markup:
    """The steps as a stepped line over a grade axis, list marks along the bottom."""
    span = max((t.end - t.start).days, 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    row = inner_h / (len(GRADES) - 1)

    def x(day: dt.date) -> float:
        return round(LEFT + inner_w * (day - t.start).days / span, 1)

    def y(grade: str) -> float:
        return round(TOP + row * GRADES.index(grade), 1)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="timeline-title">近五年信用等级变化（{t.start.isoformat()} 至 '
        f"{t.end.isoformat()}）</title>",
    ]
    for grade in GRADES:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(grade)}" y2="{y(grade)}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(grade) + 4}" text-anchor="end">{grade}</text>'
        )
    for year in range(t.start.year + 1, t.end.year + 1):
        at = x(dt.date(year, 1, 1))
        parts.append(
            f'<line class="grid" x1="{at}" x2="{at}" y1="{TOP}" y2="{TOP + inner_h}"/>'
            f'<text class="axis" x="{at}" y="{HEIGHT - 22}" text-anchor="middle">{year}</text>'
        )
    if t.steps:
        points: list[str] = []
        for i, step in enumerate(t.steps):
            until = t.steps[i + 1].since if i + 1 < len(t.steps) else t.end
            points += [f"{x(step.since)},{y(step.grade)}", f"{x(until)},{y(step.grade)}"]
        parts.append(f'<polyline class="grade-line" points="{" ".join(points)}"/>')
        for step in t.steps:
            label = escape(f"{step.since.isoformat()} 起 {step.grade}")
            parts.append(
                f'<circle class="step" cx="{x(step.since)}" cy="{y(step.grade)}" r="4">'
                f"<title>{label}</title></circle>"
            )
    for mark in t.marks:
        kind_zh = "红榜" if mark.kind == "red" else "黑榜"
        label = escape(f"{kind_zh}第 {mark.number} 期（截至 {mark.on.isoformat()}）")
        parts.append(
            f'<rect class="mark mark-{mark.kind}" x="{x(mark.on) - 5}" y="{HEIGHT - 14}" '
            f'width="10" height="10"><title>{label}</title></rect>'
        )
    parts.append("</svg>")
    # Every interpolated value is a number, a grade or a date, or escaped above.
    return Markup("".join(parts))  # noqa: S704
