"""The console's home is a list of sections, each from a provider registered
here. Other lines of work add theirs at start-up (overdue objections, pending
approvals, notices, unacknowledged partner exits):

    from app.console import sections
    sections.register(sections.Section("approvals", "待审批事项", 30, render_approvals))

A provider gets the request's session and the signed-in regulator and returns
an HTML fragment (autoescaped by the caller's template if it is a str; a
`markupsafe.Markup` is inserted as is).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal

Provider = Callable[[AsyncSession, Principal], Awaitable[Markup | str]]


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    order: int
    render: Provider


_registry: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add (or replace, by slug) a section of the console's home page."""
    _registry[section.slug] = section


def registered() -> list[Section]:
    return sorted(_registry.values(), key=lambda s: (s.order, s.slug))
