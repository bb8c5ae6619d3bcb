"""`qcr` against a database it cannot use: one line saying what and where, exit 2
(issue #13 item 9: it was a Python traceback)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _qcr(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url, "QCR_CODE_SECRET": "x" * 32}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [("migrate",), ("credit", "refresh"), ("audit", "verify")])
def test_an_unreachable_database_is_one_line_and_exit_2(command: tuple[str, ...]) -> None:
    done = _qcr(*command, database_url="postgresql://qcr:s3cret-pw@127.0.0.1:1/qcr")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qcr: cannot use the database at 127.0.0.1:1/qcr as qcr")
    assert "Traceback" not in done.stderr and "s3cret-pw" not in done.stderr


def test_a_url_that_is_not_postgresql_is_one_line_and_exit_2() -> None:
    done = _qcr("migrate", database_url="mysql://qcr@127.0.0.1/qcr")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "DATABASE_URL" in done.stderr and "PostgreSQL URL" in done.stderr
