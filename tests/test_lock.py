"""requirements.lock pins every package with hashes, and agrees with pyproject.toml
(issue #13 item 8: only direct dependencies were pinned, so a fresh machine could
resolve other transitive versions than CI did)."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    text = (ROOT / "requirements.lock").read_text()
    out: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = _PIN.match(block)
        if match:
            out[_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return out


def test_every_locked_package_has_a_hash() -> None:
    locked = _locked()
    assert len(locked) > 40  # the transitive closure, not only what we name
    assert all(hashes >= 1 for _, hashes in locked.values()), locked


def test_the_lock_agrees_with_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for requirement in wanted:
        match = _PIN.match(requirement)
        assert match, f"{requirement!r} is not pinned with =="
        name, version = _name(match.group(1)), match.group(2)
        assert locked.get(name, ("missing",))[0] == version, (
            f"{name}=={version} in pyproject.toml, {locked.get(name)} locked: run scripts/lock"
        )
