"""Progress of long `qcr` commands, on a terminal only (issue #13 item 9).

A bar on standard error when it is a terminal (rich's Progress, transient), and
nothing at all when the output is piped or logged: scripts read the same
summary lines as before. The services take a plain `advance(n)` callback, so
they know nothing of terminals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[[int], None]


def _ignore(_: int) -> None:
    return None


@contextmanager
def progress(
    description: str, total: int | None, stream: TextIO | None = None
) -> Iterator[Advance]:
    """An `advance(n)` callback that moves a bar on a terminal, or does nothing."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=stream)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance
