"""The console's own sections: open signals (charted) and overdue complaints."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from markupsafe import Markup
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints import queries as complaint_queries
from app.console import chart, sections
from app.core.database import Reader
from app.core.principal import Principal
from app.core.templates import environment
from app.signals.explain import LEVEL_ZH, SOURCE_ZH
from app.signals.models import SeriesDay, Signal

CHART_DAYS = 28
SIGNALS_SHOWN = 20


async def signal_charts(session: Reader, signals: list[Signal]) -> dict[str, Markup]:
    """Each signal's last 28 days with its expected band and the alarm days of its key."""
    if not signals:
        return {}
    keys = {(s.source, s.category, s.region) for s in signals}
    first = min(s.day for s in signals) - dt.timedelta(days=CHART_DAYS - 1)
    last = max(s.day for s in signals)
    values: dict[tuple[str, str, str], dict[dt.date, int]] = defaultdict(dict)
    rows = await session.execute(
        select(
            SeriesDay.source, SeriesDay.category, SeriesDay.region, SeriesDay.day, SeriesDay.value
        ).where(
            tuple_(SeriesDay.source, SeriesDay.category, SeriesDay.region).in_(list(keys)),
            SeriesDay.day.between(first, last),
        )
    )
    for source, category, region, day, value in rows:
        values[(source, category, region)][day] = value
    alarm_rows = await session.execute(
        select(Signal.key, Signal.day).where(Signal.key.in_([s.key for s in signals]))
    )
    alarms: dict[str, set[dt.date]] = defaultdict(set)
    for key, day in alarm_rows:
        alarms[key].add(day)
    charts = {}
    for s in signals:
        days = [s.day - dt.timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
        series = values[(s.source, s.category, s.region)]
        charts[str(s.id)] = Markup(  # noqa: S704 - built from numbers and escaped text only
            chart.series_svg(
                days,
                [series.get(d, 0) for d in days],
                expected=s.expected,
                bound=s.bound,
                alarms=alarms[s.key],
                title=f"{SOURCE_ZH[s.source]} {s.category} {s.region}",
            )
        )
    return charts


async def open_signals(session: AsyncSession, principal: Principal) -> Markup:
    signals = list(
        (
            await session.scalars(
                select(Signal)
                .where(Signal.status != "closed")
                .order_by(Signal.level, Signal.day.desc(), Signal.id)
                .limit(SIGNALS_SHOWN)
            )
        ).all()
    )
    charts = await signal_charts(session, signals)
    html = environment.get_template("console/_signals.html").render(
        signals=signals, charts=charts, LEVEL_ZH=LEVEL_ZH, SOURCE_ZH=SOURCE_ZH
    )
    return Markup(html)  # noqa: S704 - rendered by the autoescaping environment


async def overdue_complaints(session: AsyncSession, principal: Principal) -> Markup:
    items = await complaint_queries.page(
        session, principal, uscc=None, status=None, overdue=True, kind=None, after=None, limit=50
    )
    html = environment.get_template("console/_complaints.html").render(complaints=items[:50])
    return Markup(html)  # noqa: S704 - rendered by the autoescaping environment


def install() -> None:
    sections.register(sections.Section("signals", "风险信号（未关闭）", 10, open_signals))
    sections.register(sections.Section("complaints", "逾期投诉举报", 20, overdue_complaints))
