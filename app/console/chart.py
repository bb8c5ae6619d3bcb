"""A daily series as a server-rendered SVG a person reads at a glance: the
counts as a line, the expected band (expected value up to the alarm bound) in
a shaded band, alarm days as red dots, the first and last day and the scale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 28


def series_svg(
    days: Sequence[dt.date],
    values: Sequence[float],
    *,
    expected: float,
    bound: float,
    alarms: set[dt.date],
    title: str,
) -> str:
    """The chart; an empty series gives an empty frame, never an error."""
    top_value = max([*values, bound, expected, 1.0]) * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(days) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h - (v / top_value) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{y(bound):.1f}" width="{plot_w}" '
        f'height="{max(y(expected) - y(bound), 1):.1f}" fill="#fde2b3" class="band"/>',
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(expected):.1f}" y2="{y(expected):.1f}" '
        'stroke="#b26a00" stroke-dasharray="4 3" class="expected"/>',
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#888"/>',
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end" font-size="11">'
        f"{top_value:.0f}</text>",
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    if values:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#1f4e9a" stroke-width="2" '
            'class="series"/>'
        )
    for i, (day, v) in enumerate(zip(days, values, strict=True)):
        if day in alarms:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="5" fill="#c62828" class="alarm">'
                f"<title>{day.isoformat()}: {v:g}</title></circle>"
            )
    if days:
        parts.append(
            f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11">{days[0].isoformat()}</text>'
            f'<text x="{LEFT + plot_w}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
            f"{days[-1].isoformat()}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
