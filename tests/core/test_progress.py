"""Progress on a terminal only (issue #13 item 9): long commands were silent."""

from __future__ import annotations

import datetime as dt
import io

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import verify
from app.core.clock import today
from app.core.principal import SYSTEM
from app.core.progress import progress
from app.demo import loader as demo
from app.journal import sequencer
from app.lists import service as lists
from app.lists.models import ListPublication
from tests.lists.helpers import red_listed


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_bar_and_a_pipe_sees_nothing() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    with progress("demo data", 10, stream=terminal) as advance:
        for _ in range(10):
            advance(1)
    assert "demo data" in terminal.getvalue()
    with progress("demo data", 10, stream=pipe) as advance:
        advance(10)
    assert pipe.getvalue() == ""


async def test_demo_data_reports_each_organization(session: AsyncSession) -> None:
    seen: list[int] = []
    await demo.load(session, organizations=12, advance=seen.append)
    assert seen == [1] * 12


async def test_audit_verify_reports_every_leaf(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    await red_listed(client, session, regulator)
    await sequencer.sequence_pending(session)
    seen: list[int] = []
    report = await verify.verify(session, advance=seen.append)
    assert report.failure is None and report.leaves > 0
    assert sum(seen) == report.leaves == await verify.leaf_count(session)


async def test_publishing_reports_every_entry_written(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    assessed_on = (today() - dt.timedelta(days=10)).isoformat()
    for _ in range(3):
        await red_listed(client, session, regulator, assessed_on=assessed_on)
    seen: list[int] = []  # today: statuses refreshed, then the entries in one statement
    made = await lists.publish_list(session, SYSTEM, "red", advance=seen.append)
    assert isinstance(made, ListPublication) and made.entry_count >= 3
    assert seen[-1] == made.entry_count
    seen = []  # a past date: the entries batch by batch, nothing refreshed
    made = await lists.publish_list(
        session, SYSTEM, "red", as_of=today() - dt.timedelta(days=1), advance=seen.append
    )
    assert isinstance(made, ListPublication) and made.entry_count >= 3
    assert sum(seen) == made.entry_count
