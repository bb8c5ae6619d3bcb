"""Benchmarks: every hot path against a bare FastAPI + asyncpg baseline, measured
alternately (A B, B A, …) in the same run with wrk on 127.0.0.1.

    scripts/bench/run [--organizations N] [--duration S] [--pairs P] [--only NAME ...]

Writes var/bench/results.json and docs/bench/requests.png; BENCHMARKS.md quotes them.
With `--only` (a wrk scenario such as `writes`, or `batch`, `timed`, `qr`,
`import`) it runs just those and writes var/bench/results-only.json, leaving the
full run's results, chart and BENCHMARKS.md alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.apikeys import service as key_service  # noqa: E402
from app.core.database import Database, make_engine, prepare  # noqa: E402
from app.core.principal import SYSTEM, Role  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from scripts.bench import dataset, delivery_load, filed  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
LUA = Path(__file__).with_name("paths.lua")
# Another port pair when several benches share a machine (QCR_BENCH_PORT: the registry's).
REGISTRY_PORT = int(os.environ.get("QCR_BENCH_PORT", "8101"))
BASELINE_PORT = REGISTRY_PORT + 1
FILED_PORT = REGISTRY_PORT + 3  # the code issue #12 was filed on (+2: proofs.py)
# The `writes` scenario against the registry as it was when issue #12 was filed
# (scripts/bench/filed.py), instead of the one-INSERT baseline.
FILED_WRITES = "writes, against the code #12 was filed on"


def wrk(
    url_base: str,
    paths: list[str],
    *,
    duration: int,
    connections: int,
    env: dict[str, str] | None = None,
    rotate: bool = False,
) -> dict[str, float]:
    """One wrk run; requests/s and latency percentiles in ms. `rotate`: start the
    paths at a random place, so that writes of a rerun on the same data set go to
    other organizations than the last run's (whose histories they lengthened)."""
    if rotate:
        start = random.randrange(len(paths))
        paths = paths[start:] + paths[:start]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    run_env = os.environ | {"WRK_PATHS": f.name} | (env or {})
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(LUA),
            url_base,
        ],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=duration + 60,
        check=True,
    ).stdout
    os.unlink(f.name)
    return parse_wrk(out)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": rps,
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "requests": float(total),
    }


@contextmanager
def server(
    cmd: list[str], env: dict[str, str], port: int, log: Path, ready: str, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` run from `cwd` (another checkout serves a baseline) until it answers `ready`."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{cmd} did not start; see {log}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def make_keys(service_url: str, settings: Settings) -> dict[str, str]:
    database = Database(make_engine(service_url, settings, pool_size=1))
    keys = {}
    async with database.sessionmaker() as session:
        for role in (Role.partner, Role.regulator):
            created = await key_service.create_key(
                session, SYSTEM, name=f"bench {role.value}", role=role, uscc=None
            )
            keys[role.value] = created.secret
        await session.commit()
    await database.dispose()
    return keys


def timed(label: str, fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def post(url: str, body: dict[str, Any], token: str, timeout: float = 600) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def qr_rates(seconds: float = 3.0) -> dict[str, float]:
    """Images/s of our renderer (cache bypassed) against a bare qrcode and segno loop."""
    import io

    import qrcode
    import segno

    from app.codes import qr

    uris = [
        f"http://localhost:8000/01/06901234567892/10/L{n}/21/ABCDEFGHJKLMN{n:07d}"
        for n in range(100000)
    ]

    def rate(render: Callable[[str], Any]) -> float:
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            render(uris[n])
            n += 1
        return n / (time.perf_counter() - started)

    def bare_qrcode(uri: str) -> bytes:
        image = qrcode.make(uri, error_correction=qrcode.constants.ERROR_CORRECT_M)
        buffer = io.BytesIO()
        image.save(buffer)
        return buffer.getvalue()

    def bare_segno(uri: str) -> bytes:
        buffer = io.BytesIO()
        segno.make(uri, error="m").save(buffer, kind="png", scale=4)
        return buffer.getvalue()

    ours_png = rate(lambda u: qr._render.__wrapped__(u, 256, "png"))
    ours_svg = rate(lambda u: qr._render.__wrapped__(u, 256, "svg"))
    return {
        "qrcode_png_per_s": rate(bare_qrcode),
        "segno_png_per_s": rate(bare_segno),
        "ours_png_per_s": ours_png,
        "ours_svg_per_s": ours_svg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organizations", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--warmup",
        type=int,
        default=15,
        help="seconds of the unmeasured first pair of each scenario (caches fill)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes of the registry and of the baseline alike (the Dockerfile's 2)",
    )
    parser.add_argument("--item-codes", type=int, default=1_000_000)
    parser.add_argument(
        "--skip-load", action="store_true", help="reuse the data set already loaded"
    )
    parser.add_argument(
        "--delivery-events",
        type=int,
        default=20_000,
        help="credit.changed events (x20 deliveries) behind the delivery-load runs",
    )
    parser.add_argument(
        "--delivery-pairs",
        type=int,
        default=9,
        help="quiet/loaded pairs per scenario of the delivery-load part (its budget, 10 %%,"
        " is smaller than one pair's spread on this machine: more pairs, a steadier median)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this part (repeatable): a wrk scenario, batch, timed, qr or import",
    )
    args = parser.parse_args()
    only = set(args.only or [])

    def wanted(name: str) -> bool:
        return not only or name in only

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        "QCR_DATA_DIR": str(BENCH_DIR),
        "QCR_LOG_JSON": "true",
        "QCR_RATE_LIMIT_RESOLVER": "100000000/second",
        "QCR_RATE_LIMIT_PUBLIC": "100000000/second",
        "QCR_RATE_LIMIT_FEEDBACK": "100000000/second",
        # One official publishes: the bench times the list's computation, not the
        # second official's approval of it (four eyes, SPEC §9).
        "QCR_FOUR_EYES": "false",
        # The delivery-load part subscribes receivers on loopback, over plain HTTP.
        "QCR_WEBHOOK_ALLOW_PRIVATE": "true",
        "QCR_WEBHOOK_ALLOW_HTTP": "true",
    }
    os.environ.update(env)
    settings = Settings()
    urls = prepare(settings, migrate=True)
    sample_file = BENCH_DIR / "sample.json"
    results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    if not args.skip_load or not sample_file.exists():
        started = time.perf_counter()
        sample = asyncio.run(dataset.load(urls.owner, args.organizations, 10_000, args.item_codes))
        sample_file.write_text(json.dumps(sample, ensure_ascii=False))
        results["load_seconds"] = time.perf_counter() - started
    sample = json.loads(sample_file.read_text())
    results["counts"] = sample["counts"]
    keys = asyncio.run(make_keys(urls.service, settings))
    baseline_dsn = urls.service.replace("postgresql+asyncpg://", "postgresql://")

    registry_cmd = filed.serve_command(REGISTRY_PORT, args.workers)
    baseline_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "scripts.bench.baseline:app",
        "--port",
        str(BASELINE_PORT),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(args.workers),
    ]
    usccs = sample["usccs"]
    credit_paths = [f"/v1/organizations/{u}/credit" for u in usccs]
    scenarios: dict[str, dict[str, Any]] = {
        "credit lookup": {"paths": credit_paths},
        "credit lookup, partner key": {
            "paths": credit_paths,
            "env": {"WRK_AUTH": keys["partner"]},
        },
    }
    scenarios.update(dataset_scenarios(sample))
    # 16 regulator clients recording grade assessments on distinct organizations,
    # against a baseline endpoint doing one INSERT (same body, same concurrency).
    grade_body = BENCH_DIR / "grade.json"
    grade_body.write_text(
        json.dumps(
            {
                "grade": "AA",
                "assessed_on": "2026-01-05",
                "authority": "基准测试局",
                "basis": "基准",
            },
            ensure_ascii=False,
        )
    )
    post_env = {"WRK_METHOD": "POST", "WRK_BODY": str(grade_body)}
    scenarios["writes"] = {
        "paths": [f"/v1/organizations/{u}/grades" for u in usccs],
        "env": post_env | {"WRK_AUTH": keys["regulator"]},
        "connections": 16,
        "rotate": True,
        "baseline": {
            "paths": [f"/write/{u}" for u in usccs],
            "env": post_env,
            "connections": 16,
        },
    }
    if wanted(FILED_WRITES):
        then = filed.prepare(args.organizations, env)
        scenarios[FILED_WRITES] = scenarios["writes"] | {
            "baseline": {
                "url": f"http://127.0.0.1:{FILED_PORT}",
                "paths": [f"/v1/organizations/{u}/grades" for u in then["usccs"]],
                "env": post_env | {"WRK_AUTH": then["regulator"]},
                "connections": 16,
                "rotate": True,
            }
        }
    every_scenario = dict(scenarios)
    scenarios = {name: s for name, s in scenarios.items() if wanted(name)}
    base_paths = [f"/credit/{u}" for u in usccs]
    asyncio.run(make_baseline_table(urls.owner))

    baseline_env = env | {"BASELINE_DSN": baseline_dsn}
    with (
        server(
            registry_cmd, env, REGISTRY_PORT, BENCH_DIR / "registry.log", "/readyz"
        ) as registry_process,
        server(baseline_cmd, baseline_env, BASELINE_PORT, BENCH_DIR / "baseline.log", "/docs"),
        contextlib.ExitStack() as more,
    ):
        if FILED_WRITES in scenarios:
            more.enter_context(
                server(
                    filed.serve_command(FILED_PORT, args.workers),
                    filed.env(env),
                    FILED_PORT,
                    BENCH_DIR / "filed.log",
                    "/readyz",
                    cwd=filed.SOURCE,
                )
            )
        registry = f"http://127.0.0.1:{REGISTRY_PORT}"
        baseline = f"http://127.0.0.1:{BASELINE_PORT}"
        # Warm both (connection pools, statement caches) before measuring.
        wrk(baseline, base_paths, duration=2, connections=args.connections)
        wrk(registry, credit_paths, duration=2, connections=args.connections)
        results["scenarios"] = {}
        for name, scenario in scenarios.items():
            base = scenario.get("baseline", {})
            pairs = []
            scenario_from = dt.datetime.now(dt.UTC)
            # The first pair warms both sides (the resolver's per-process caches
            # fill on each worker's first visit of a batch, PostgreSQL's buffers
            # on both): kept in the results as `cold`, not in the medians. The
            # measured pairs alternate which side goes first (A B, B A, …), so
            # that a drift of the machine's speed through the run favours
            # neither side.
            sides = {
                "baseline": (base.get("url", baseline), base.get("paths", base_paths), base),
                "registry": (registry, scenario["paths"], scenario),
            }
            for run in range(1 + args.pairs):
                measured = {}
                for side in ("baseline", "registry") if run % 2 else ("registry", "baseline"):
                    url, paths, spec = sides[side]
                    measured[side] = wrk(
                        url,
                        paths,
                        duration=args.warmup if run == 0 else args.duration,
                        connections=spec.get("connections", args.connections),
                        env=spec.get("env"),
                        rotate=spec.get("rotate", False),
                    )
                a, b = measured["baseline"], measured["registry"]
                pairs.append(
                    {
                        "baseline": a,
                        "registry": b,
                        "rps_ratio": b["rps"] / a["rps"],
                        "p99_ratio": b["p99_ms"] / a["p99_ms"],
                    }
                )
            cold, pairs = pairs[0], pairs[1:]
            results["scenarios"][name] = summarise(pairs) | {"cold": cold}
            print(name, json.dumps(results["scenarios"][name]["median"]), flush=True)
            if name == "writes":
                time.sleep(2)  # the last writes' second to be sequenced
                lag = asyncio.run(
                    sequencing_lag(baseline_dsn, scenario_from, dt.datetime.now(dt.UTC))
                )
                results["sequencing_lag"] = lag
                print("sequencing lag", json.dumps(lag), flush=True)

        if wanted("batch"):
            results["batch"] = batch_scenario(registry, keys, usccs, credit_paths, args)
        if wanted("import"):
            results["import"] = import_while_writing(registry, keys, usccs, post_env, args)
        if wanted("timed"):
            results.update(timed_scenarios(registry, keys, sample))
        if wanted("delivery load"):

            def on_registry(seconds: int) -> Callable[[dict[str, Any]], dict[str, float]]:
                """A scenario run against the registry for `seconds`."""
                return lambda s: wrk(
                    registry,
                    s["paths"],
                    duration=seconds,
                    connections=s.get("connections", args.connections),
                    env=s.get("env"),
                )

            loaded = ("credit lookup", "credit lookup, partner key", "resolver item JSON")
            results["delivery_load"] = delivery_load.run(
                registry,
                registry_process.pid,
                urls.service,
                keys["partner"],
                usccs,
                {name: every_scenario[name] for name in loaded if name in every_scenario},
                on_registry(args.duration),
                on_registry(args.warmup),
                args.delivery_pairs,
                args.delivery_events,
            )
    if wanted("qr"):
        results["qr"] = qr_rates()
        print("qr", json.dumps(results["qr"]), flush=True)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if only:
        (BENCH_DIR / "results-only.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False)
        )
        print(f"results: {BENCH_DIR / 'results-only.json'}")
        return
    (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    chart(results, ROOT / "docs" / "bench" / "requests.png")
    print(f"results: {BENCH_DIR / 'results.json'}")
    from scripts.bench import report

    report.main()


LAG = """
SELECT count(*) AS entries, count(l.seq) AS sequenced,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.sequenced_at - e.at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM l.sequenced_at - e.at)) AS p99,
       max(extract(epoch FROM l.sequenced_at - e.at)) AS max
FROM audit_entries e LEFT JOIN audit_log l ON l.entry_id = e.id
WHERE e.at >= $1 AND e.at < $2
"""


async def sequencing_lag(dsn: str, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """Issue #12: the writes' audit entries are sequenced within 1 s. For every entry
    written in [since, until): from its `at` (the record's own clock, inside the
    write's transaction, so the figure includes the rest of the transaction and its
    commit) to when the sequencer gave it its seq (`audit_log.sequenced_at`), in s."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(LAG, since, until)
    finally:
        await conn.close()
    return {
        "entries": row["entries"],
        "sequenced": row["sequenced"],
        "p50_s": float(row["p50"] or 0),
        "p99_s": float(row["p99"] or 0),
        "max_s": float(row["max"] or 0),
    }


def batch_scenario(
    registry: str,
    keys: dict[str, str],
    usccs: list[str],
    credit_paths: list[str],
    args: argparse.Namespace,
) -> dict[str, float]:
    # Batch of 1000 codes: time per batch against one lookup's latency (same run).
    body = BENCH_DIR / "batch.json"
    # The last 1,000 of the sample: the import scenario never writes violations on
    # them, so a rerun on the same data (--skip-load) batches what the first did.
    body.write_text(json.dumps({"codes": usccs[-1000:]}))
    batch = []
    for _ in range(args.pairs):
        one = wrk(registry, credit_paths, duration=args.duration, connections=1)
        many = wrk(
            registry,
            ["/v1/credit/batch"],
            duration=args.duration,
            connections=1,
            env={"WRK_METHOD": "POST", "WRK_BODY": str(body), "WRK_AUTH": keys["partner"]},
        )
        batch.append(
            {
                "one_lookup_p50_ms": one["p50_ms"],
                "batch_p50_ms": many["p50_ms"],
                "ratio": many["p50_ms"] / one["p50_ms"],
                "codes_per_s": 1000 * many["rps"],
                "non_2xx": many["non_2xx"],
            }
        )
    out = {k: statistics.median(p[k] for p in batch) for k in batch[0]}
    print("batch 1000", json.dumps(out), flush=True)
    return out


IMPORT_ROWS, IMPORT_ORGS = 5000, 100


def import_while_writing(
    registry: str,
    keys: dict[str, str],
    usccs: list[str],
    post_env: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """A 5,000-row CSV import on IMPORT_ORGS organizations while 16 regulator
    clients record grades on the others (wrk, started with the import): the
    writes' latency, and the import's time, for each mode."""
    import threading

    # IMPORT_ORGS organizations at a random place (never the batch's last 1,000):
    # each run gives its targets 100 violations, and a rerun on the same data set
    # that took the same ones again would evaluate longer histories every time.
    start = random.randrange(len(usccs) - 1000 - IMPORT_ORGS)
    targets = usccs[start : start + IMPORT_ORGS]
    others = usccs[:start] + usccs[start + IMPORT_ORGS :]
    paths = [f"/v1/organizations/{u}/grades" for u in others]
    out: dict[str, Any] = {}
    # Writes alone first (unmeasured): what is timed is the import's effect on
    # them, not a fresh server's first writes (pools, prepared statements).
    wrk(
        registry,
        paths,
        duration=3,
        connections=16,
        env=post_env | {"WRK_AUTH": keys["regulator"]},
        rotate=True,
    )
    for mode in ("partial", "atomic"):
        stamp = time.strftime("%H%M%S")
        rows = [
            f"{targets[i % len(targets)]},基准{mode}{stamp}-{i},基准测试局,2026-01-05,"
            f"产品质量,minor,基准导入"
            for i in range(IMPORT_ROWS)
        ]
        csv = "uscc,case_no,authority,decided_on,category,severity,public_summary\r\n"
        data = (csv + "\r\n".join(rows) + "\r\n").encode()
        outcome: dict[str, Any] = {}

        def run_import(
            data: bytes = data, mode: str = mode, outcome: dict[str, Any] = outcome
        ) -> None:
            request = urllib.request.Request(
                f"{registry}/v1/imports/violations?mode={mode}",
                data=data,
                method="POST",
                headers={
                    "Content-Type": "text/csv",
                    "Authorization": f"Bearer {keys['regulator']}",
                },
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=600) as response:
                    outcome["status"] = response.status
                    outcome["imported"] = json.loads(response.read())["imported"]
            except urllib.error.HTTPError as exc:
                outcome["status"] = exc.code
            outcome["seconds"] = time.perf_counter() - started

        thread = threading.Thread(target=run_import)
        thread.start()
        writes = wrk(
            registry,
            paths,
            duration=args.duration,
            connections=16,
            env=post_env | {"WRK_AUTH": keys["regulator"]},
            rotate=True,
        )
        thread.join()
        out[mode] = {
            "import_status": outcome.get("status"),
            "import_rows": outcome.get("imported"),
            "import_seconds": outcome.get("seconds"),
            "writes_rps": writes["rps"],
            "writes_p50_ms": writes["p50_ms"],
            "writes_p99_ms": writes["p99_ms"],
            "writes_non_2xx": writes["non_2xx"],
            "wrk_seconds": args.duration,
        }
        print(f"import {mode} while writing", json.dumps(out[mode]), flush=True)
    return out


def dataset_scenarios(sample: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resolver scenarios, when the data set has item codes."""
    items = sample.get("item_paths") or []
    if not items:
        return {}
    json_env = {"WRK_ACCEPT": "application/json"}
    out = {
        "resolver item JSON": {"paths": items, "env": json_env},
        "resolver item HTML": {"paths": items, "env": {"WRK_ACCEPT": "text/html"}},
    }
    heavy = sample.get("heavy_item_paths") or []
    if heavy:
        out["resolver item JSON, code with 100,000 scans"] = {"paths": heavy, "env": json_env}
    return out


async def make_baseline_table(owner_url: str) -> None:
    """The table the baseline's write endpoint inserts into."""
    import asyncpg

    conn = await asyncpg.connect(owner_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_writes (id bigserial PRIMARY KEY, uscc text NOT NULL,"
            " grade text NOT NULL, assessed_on date NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute("GRANT SELECT, INSERT ON bench_writes TO qcr_service")
        await conn.execute("GRANT USAGE ON SEQUENCE bench_writes_id_seq TO qcr_service")
    finally:
        await conn.close()


def timed_scenarios(registry: str, keys: dict[str, str], sample: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seconds, published = timed(
        "publish", lambda: post(f"{registry}/v1/lists/black/publications", {}, keys["regulator"])
    )
    out["publish_black_seconds"] = seconds
    out["publish_black_entries"] = published.get("entry_count")
    seconds, published = timed(
        "publish", lambda: post(f"{registry}/v1/lists/red/publications", {}, keys["regulator"])
    )
    out["publish_red_seconds"] = seconds
    out["publish_red_entries"] = published.get("entry_count")
    batch = sample.get("issue_batch")
    if batch:
        seconds, _ = timed(
            "codes", lambda: post(f"{registry}{batch}", {"count": 100000}, keys["regulator"])
        )
        out["issue_100000_codes_seconds"] = seconds
    print("timed", json.dumps(out), flush=True)
    return out


def summarise(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(side: str, key: str) -> float:
        return float(statistics.median(p[side][key] for p in pairs))

    return {
        "pairs": pairs,
        "median": {
            "registry_rps": med("registry", "rps"),
            "baseline_rps": med("baseline", "rps"),
            "registry_p50_ms": med("registry", "p50_ms"),
            "registry_p99_ms": med("registry", "p99_ms"),
            "baseline_p50_ms": med("baseline", "p50_ms"),
            "baseline_p99_ms": med("baseline", "p99_ms"),
            "rps_ratio": statistics.median(p["rps_ratio"] for p in pairs),
            "p99_ratio": statistics.median(p["p99_ratio"] for p in pairs),
            "non_2xx": sum(p["registry"]["non_2xx"] for p in pairs),
        },
    }


def machine() -> dict[str, Any]:
    import platform

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": wrk_version,
    }


def chart(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart")
        return
    names = list(results["scenarios"])
    registry = [results["scenarios"][n]["median"]["registry_rps"] for n in names]
    baseline = [results["scenarios"][n]["median"]["baseline_rps"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], baseline, width=0.4, label="baseline (bare FastAPI + asyncpg)")
    ax.bar([x + 0.2 for x in xs], registry, width=0.4, label="registry")
    for x, r, b in zip(xs, registry, baseline, strict=True):
        ax.text(x + 0.2, r, f"{r / b:.2f}×", ha="center", va="bottom")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("requests/s (median of pairs)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
