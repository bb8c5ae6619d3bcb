"""Figures the hardening tests report at the end of a run, so CI logs show them.

Tests call `add(section, name, n)`. Under pytest-xdist each worker ships its
counts to the controller in `workeroutput`; the controller adds them up and
prints one block in the terminal summary (with or without `-s`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

FIGURES: defaultdict[str, dict[str, int]] = defaultdict(dict)
_KEY = "qcr_figures"


def add(section: str, name: str, n: int = 1) -> None:
    counts = FIGURES[section]
    counts[name] = counts.get(name, 0) + n


def _merge(payload: str) -> None:
    for section, counts in json.loads(payload).items():
        for name, n in counts.items():
            add(section, name, n)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput[_KEY] = json.dumps(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    payload = getattr(node, "workeroutput", {}).get(_KEY)
    if payload:
        _merge(payload)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.write_sep("=", "hardening figures")
    for section in sorted(FIGURES):
        counts = FIGURES[section]
        parts = ", ".join(f"{name} {n}" for name, n in counts.items())
        terminalreporter.write_line(f"{section}: {parts}")
