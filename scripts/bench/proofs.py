"""Inclusion proofs in a big log: build a log of N entries in bulk (SQL, no API
calls), then time `GET /v1/audit/entries/1/proof` against a live `qcr serve`.

    .venv/bin/python scripts/bench/proofs.py [--entries 1000000] [--requests 2000]

Its own embedded PostgreSQL under var/bench-proofs (the log is insert-only, so
it is kept apart from the main benchmark's data). The log is built once, by
scripts/bench/biglog.py. Prints the proof's length, checks it verifies against
the signed tree head (and that root against one recomputed here from the leaf
hashes), and the latency of one proof over one keep-alive connection, alternating with
`GET /v1/audit/keys` (one small row: this machine's floor at that moment).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = {"QCR_DATA_DIR": str(DATA_DIR), "QCR_LOG_JSON": "true"}
    os.environ.update(env)
    from app.core.database import prepare
    from app.core.settings import Settings
    from scripts.bench.bench import make_keys, server

    settings = Settings()
    urls = prepare(settings, migrate=True)
    log = asyncio.run(prepare_log(urls.owner, args.entries))
    if log["build_seconds"] is not None:
        print(f"built a log of {log['tree_size']:,} entries in {log['build_seconds']:.1f} s")
    token = asyncio.run(make_keys(urls.service, settings))["regulator"]
    cmd = [sys.executable, "-m", "app", "serve", "--no-migrate", "--port", str(PORT)]
    with server(cmd, env, PORT, DATA_DIR / "registry.log", "/readyz"):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        _, head = get(conn, "/v1/audit/tree-head", token)
        size = head["tree_size"]
        path = f"/v1/audit/entries/1/proof?tree_size={size}"
        for _ in range(50):  # warm the pool and the statement caches
            get(conn, path, token)
        # Alternately, the floor of this machine now: an authenticated request
        # that reads one small row (the signing keys).
        times, floor = [], []
        for _ in range(args.requests):
            took, proof = get(conn, path, token)
            times.append(took)
            floor.append(get(conn, "/v1/audit/keys", token)[0])
        conn.close()
    audit_path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root = bytes.fromhex(head["root_hash"])
    leaf_hash = bytes.fromhex(proof["leaf_hash"])
    times.sort()
    result = {
        "tree_size": size,
        "proof_hashes": len(audit_path),
        "verifies": merkle.verify_inclusion(0, size, leaf_hash, audit_path, root),
        "root_matches_recomputed": size == log["tree_size"] and root == log["root"],
        "requests": len(times),
        "p50_ms": statistics.median(times),
        "p90_ms": times[int(0.9 * len(times)) - 1],
        "p99_ms": times[int(0.99 * len(times)) - 1],
        "max_ms": times[-1],
        "floor_p50_ms": statistics.median(floor),
        "floor_what": "GET /v1/audit/keys, alternating with the proof",
        "build_seconds": log["build_seconds"],
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (DATA_DIR / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = result["verifies"] and result["root_matches_recomputed"] and len(audit_path) <= 20
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
