"""Inclusion proofs in a big log: build a log of N entries in bulk (SQL, no API
calls), then time `GET /v1/audit/entries/1/proof` against a live `qcr serve`.

    .venv/bin/python scripts/bench/proofs.py [--entries 1000000] [--requests 2000]

Its own embedded PostgreSQL under var/bench-proofs (the log is insert-only, so
it is kept apart from the main benchmark's data). The log is built once, by
scripts/bench/biglog.py. Prints the proof's length, checks it verifies against
the signed tree head (and that root against one recomputed here from the leaf
hashes), and the latency of one proof over one keep-alive connection, in turn
with a consistency proof from size 1, `GET /v1/audit/keys` (an ordinary route
reading one small row) and `GET /healthz` (no database): this machine's floors
at that moment.

    .venv/bin/python scripts/bench/proofs.py --baseline ../main-checkout --rounds 2

serves the same log from another checkout and this one alternately (A B A B).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from app.journal import merkle  # noqa: E402
from scripts.bench.biglog import build_log, root_of  # noqa: E402

DATA_DIR = ROOT / "var" / "bench-proofs"
PORT = 8103


async def prepare_log(owner_url: str, n: int) -> dict[str, Any]:
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            size = int(await conn.scalar(text("SELECT count(*) FROM audit_log")) or 0)
            started = time.perf_counter()
            if size == 0:
                await build_log(conn, n)
            built = time.perf_counter() - started if size == 0 else None
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT leaf_hash FROM audit_log ORDER BY seq"))
            hashes = [bytes.fromhex(h) for (h,) in rows]
    finally:
        await engine.dispose()
    return {"build_seconds": built, "tree_size": len(hashes), "root": root_of(hashes)}


def get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, Any]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    took = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return took, json.loads(body)


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * len(times)) - 1], 2),
        "p99_ms": round(times[int(0.99 * len(times)) - 1], 2),
    }


def measure(
    label: str, root: Path, env: dict[str, str], token: str, requests: int, size: int
) -> dict[str, Any]:
    """One server (the code under `root`): the proof of entry 1 in the tree of
    `size` (the bulk log), a consistency proof, and the two floors, in turn."""
    from scripts.bench.bench import server

    cmd = [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(PORT)]
    served = env | {"PYTHONPATH": str(root)}
    with server(cmd, served, PORT, DATA_DIR / f"registry-{label}.log", "/readyz", cwd=root):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        # The head of the bulk log's own size (the bench's key writes come after).
        _, head = get(conn, f"/v1/audit/tree-head?tree_size={size}", token)
        paths = {
            "proof": f"/v1/audit/entries/1/proof?tree_size={size}",
            "consistency": f"/v1/audit/consistency?first=1&second={size}",
            # The floors of this machine now: an authenticated read of one small
            # row (the signing keys, an ordinary route), and a request that
            # reads nothing.
            "keys": "/v1/audit/keys",
            "healthz": "/healthz",
        }
        for _ in range(50):  # warm the pools and the statement caches
            for url in paths.values():
                get(conn, url, token)
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(requests):
            for name, url in paths.items():
                took, answer = get(conn, url, token)
                times[name].append(took)
                if name == "proof":
                    proof = answer
        conn.close()
    audit_path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root_hash = bytes.fromhex(head["root_hash"])
    leaf_hash = bytes.fromhex(proof["leaf_hash"])
    return {
        "label": label,
        "tree_size": size,
        "root_hash": head["root_hash"],
        "proof_hashes": len(audit_path),
        "verifies": merkle.verify_inclusion(0, size, leaf_hash, audit_path, root_hash),
        "requests": requests,
        **{name: percentiles(t) for name, t in times.items()},
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. a worktree of main): served alternately with this one",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: A B pairs")
    args = parser.parse_args()

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = {"QCR_DATA_DIR": str(DATA_DIR), "QCR_LOG_JSON": "true"}
    os.environ.update(env)
    from app.core.database import prepare
    from app.core.settings import Settings
    from scripts.bench.bench import make_keys

    settings = Settings()
    urls = prepare(settings, migrate=True)
    log = asyncio.run(prepare_log(urls.owner, args.entries))
    if log["build_seconds"] is not None:
        print(f"built a log of {log['tree_size']:,} entries in {log['build_seconds']:.1f} s")
    token = asyncio.run(make_keys(urls.service, settings))["regulator"]
    servers = [("branch", ROOT)]
    if args.baseline is not None:
        servers = [("baseline", args.baseline.resolve()), *servers]
    runs = []
    for _ in range(args.rounds if args.baseline is not None else 1):
        for label, root in servers:
            run = measure(label, root, env, token, args.requests, log["tree_size"])
            print(json.dumps(run), flush=True)
            runs.append(run)
    result = {
        "runs": runs,
        "root_matches_recomputed": all(bytes.fromhex(r["root_hash"]) == log["root"] for r in runs),
        "build_seconds": log["build_seconds"],
        "cpus": os.cpu_count(),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (DATA_DIR / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = result["root_matches_recomputed"] and all(
        r["verifies"] and r["proof_hashes"] <= 20 for r in runs
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
