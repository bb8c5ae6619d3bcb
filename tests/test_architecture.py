"""The import contracts of pyproject.toml hold: packages import downwards only,
app/core knows no domain, nothing imports the edge (README "Architecture")."""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_imports_follow_the_layers() -> None:
    previous = Path.cwd()
    os.chdir(ROOT)  # import-linter reads the contracts and the package from here
    try:
        status = lint_imports(
            config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
        )
    finally:
        os.chdir(previous)
    assert status == EXIT_STATUS_SUCCESS, "an import runs against the layers (output above)"
