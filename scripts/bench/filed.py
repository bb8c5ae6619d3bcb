"""The registry as it was when issue #12 was filed, served beside today's for
the `writes` scenario: "5x today's writes/s" measured in the same run, on the
same machine, by the same wrk, instead of against a figure seen on another day.

The code is this repository's own history (`FILED_COMMIT`, the main line just
before the journal replaced the audit chain's advisory lock), exported with
`git archive` under var/bench/filed/src and run from there with this checkout's
virtualenv (its dependencies are a subset of today's, at the same versions). It
keeps its own embedded PostgreSQL (var/bench/filed/data), loaded once by its own
`scripts/bench/dataset.py` with as many organizations as today's data set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FILED_COMMIT = "f71595fbf219978e04efd3c2a70c2714a99b8813"
FILED_DIR = ROOT / "var" / "bench" / "filed"
SOURCE = FILED_DIR / "src"
DATA = FILED_DIR / "data"
SAMPLE = FILED_DIR / "sample.json"

# Run by the filed code's interpreter from its own tree: its data set and a
# regulator key, written as JSON to the path given.
_LOAD = """
import asyncio, json, sys
from app.core.database import prepare
from app.core.settings import Settings
from scripts.bench import dataset
from scripts.bench.bench import make_keys
settings = Settings()
urls = prepare(settings, migrate=True)
sample = asyncio.run(dataset.load(urls.owner, int(sys.argv[1]), 100, 1000))
keys = asyncio.run(make_keys(urls.service, settings))
with open(sys.argv[2], "w") as out:
    json.dump({"usccs": sample["usccs"], "regulator": keys["regulator"]}, out)
"""


def env(extra: dict[str, str]) -> dict[str, str]:
    """The bench's environment, with the filed code's own data directory (its
    interpreter runs from `SOURCE`, whose `app` comes first on its path)."""
    return extra | {"QCR_DATA_DIR": str(DATA)}


def prepare(organizations: int, extra_env: dict[str, str]) -> dict[str, Any]:
    """The filed code's tree and data set (made once; reused while the number of
    organizations is the same): its USCCs and a regulator key."""
    if SAMPLE.exists():
        sample: dict[str, Any] = json.loads(SAMPLE.read_text())
        if sample.get("organizations") == organizations:
            return sample
    if not SOURCE.exists():
        SOURCE.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", FILED_COMMIT],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(SOURCE)], input=archive, check=True)
    loaded = FILED_DIR / "loaded.json"
    subprocess.run(
        [sys.executable, "-c", _LOAD, str(organizations), str(loaded)],
        cwd=SOURCE,
        env=os.environ | env(extra_env),
        check=True,
    )
    sample = json.loads(loaded.read_text()) | {"organizations": organizations}
    SAMPLE.write_text(json.dumps(sample))
    return sample


def serve_command(port: int, workers: int) -> list[str]:
    """`qcr serve` on `port` with `workers` processes: today's registry, or run
    from `SOURCE` with `env`, the filed code (one command for both sides)."""
    return [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--no-migrate",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
