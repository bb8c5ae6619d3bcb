"""Progress on a terminal only (issue #13 item 9): long commands were silent."""

from __future__ import annotations

import io

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.progress import progress
from app.demo import loader as demo


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
