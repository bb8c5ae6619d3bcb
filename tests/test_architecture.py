"""The import contracts of pyproject.toml hold: packages import downwards only,
app/core knows no domain, nothing imports the edge (README "Architecture")."""

from __future__ import annotations

import os
import re
import tomllib
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


def test_the_readme_picture_is_the_layers() -> None:
    """README "Architecture" draws the floors of `[tool.importlinter]`, in order."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in contracts["contracts"] if c["id"] == "layers")["layers"]
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Architecture\n") :]
    diagram = section[section.index("```mermaid") : section.index("```\n", 10)]
    drawn = [label.replace(" · ", " | ") for label in re.findall(r'L\d+\["([^"]+)"\]', diagram)]
    assert drawn == layers
    edges = re.findall(r"L(\d+) --> (?=L(\d+))", diagram)
    assert [(int(a), int(b)) for a, b in edges] == [(n, n + 1) for n in range(1, len(layers))]
