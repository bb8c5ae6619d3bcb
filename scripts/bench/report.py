"""Write the figures of var/bench/results.json into BENCHMARKS.md (between markers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run of {results.get('finished', '?')} on {m['cpus']} cores, Python {m['python']}, "
        f"{m['wrk']}; {results['args']['connections']} connections, "
        f"{results['args'].get('workers', 1)} server process(es) on each side, "
        f"{results['args']['duration']} s per run, {results['args']['pairs']} baseline/registry pairs "
        f"after one warm-up pair of {results['args'].get('warmup', 0)} s (its ratio: the cold column); "
        f"data set: {results['counts']['organizations']:,} organizations, "
        f"{results['counts'].get('item_codes', 0):,} item codes.",
        "",
        "| scenario | registry req/s | baseline req/s | ratio | registry p50 / p99 ms | baseline p99 ms | p99 ratio | cold ratio | budget |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # Targets of issue #11: (requests/s ratio at least, p99 ratio at most).
    budgets: dict[str, tuple[float, float | None, str]] = {
        "credit lookup": (1.0, None, "≥ 1.0×"),
        "credit lookup, partner key": (0.9, 1.5, "≥ 0.9×, p99 ≤ 1.5×"),
        "resolver item JSON": (1.0, 1.5, "≥ 1.0×, p99 ≤ 1.5×"),
        "resolver item HTML": (0.8, 2.0, "≥ 0.8×, p99 ≤ 2×"),
    }
    scenarios = results["scenarios"]
    for name, scenario in scenarios.items():
        s = scenario["median"]
        cold = f"{scenario['cold']['rps_ratio']:.2f}×" if "cold" in scenario else "—"
        met = ""
        label = "—"
        if name in budgets:
            least, most, label = budgets[name]
            ok = s["rps_ratio"] >= least and (most is None or s["p99_ratio"] <= most)
            met = " ✅" if ok else " ❌"
        elif (
            name == "resolver item JSON, code with 100,000 scans"
            and "resolver item JSON" in scenarios
        ):
            plain = scenarios["resolver item JSON"]["median"]["rps_ratio"]
            label = f"within 10% of resolver item JSON ({s['rps_ratio'] / plain:.2f}×)"
            met = " ✅" if s["rps_ratio"] >= 0.9 * plain else " ❌"
        elif name == "writes":
            # Issue #12: 5× the 94-99 writes/s seen at 16 clients when it was filed
            # (an absolute figure of another day's machine; the baseline is one INSERT).
            label = "≥ 470/s (5× #12's 94/s at 16 clients, another day)"
            met = " ✅" if s["registry_rps"] >= 470 else " ❌"
        elif name.startswith("writes, against"):
            # The same 5×, against that code measured in this run (its "baseline").
            label = "≥ 5× the code #12 was filed on, same run"
            met = " ✅" if s["rps_ratio"] >= 5 else " ❌"
        lines.append(
            f"| {name} | {s['registry_rps']:,.0f} | {s['baseline_rps']:,.0f} | {s['rps_ratio']:.2f}× | "
            f"{s['registry_p50_ms']:.1f} / {s['registry_p99_ms']:.1f} | {s['baseline_p99_ms']:.1f} | "
            f"{s['p99_ratio']:.2f}× | {cold} | {label}{met} |"
        )
    lag = results.get("sequencing_lag")
    if lag:
        ok = "✅" if lag["max_s"] < 1 and lag["sequenced"] == lag["entries"] else "❌"
        lines += [
            "",
            f"Sequencing lag in the `writes` scenario (issue #12: under 1 s at that rate), "
            f"from an entry's `at` to its `seq`: {lag['entries']:,} entries, "
            f"{lag['sequenced']:,} sequenced; p50 {lag['p50_s']:.3f} s, p99 {lag['p99_s']:.3f} s, "
            f"max {lag['max_s']:.3f} s {ok}",
        ]
    b = results.get("batch")
    if b:
        ok = "✅" if b["ratio"] <= 20 else "❌"
        lines += [
            "",
            f"Batch of 1,000 codes (one connection): {b['batch_p50_ms']:.1f} ms per batch (p50), "
            f"{b['codes_per_s']:,.0f} codes/s; one lookup {b['one_lookup_p50_ms']:.2f} ms: "
            f"**{b['ratio']:.1f}×** one lookup's latency (budget ≤ 20×) {ok}",
        ]
    imported = results.get("import")
    if imported:
        lines += [
            "",
            "Writes (16 regulator clients, other organizations) while a 5,000-row CSV import "
            "runs (issue #12: their p99 under 200 ms):",
            "",
            "| import mode | import s | writes/s meanwhile | writes p50 / p99 ms | budget |",
            "|---|---|---|---|---|",
        ]
        for mode, i in imported.items():
            ok = "✅" if i["writes_p99_ms"] < 200 and not i["writes_non_2xx"] else "❌"
            lines.append(
                f"| {mode} | {i['import_seconds']:.1f} | {i['writes_rps']:.0f} | "
                f"{i['writes_p50_ms']:.1f} / {i['writes_p99_ms']:.1f} | p99 < 200 ms {ok} |"
            )
    d = results.get("delivery_load")
    if d:
        lines += [
            "",
            f"Delivery load: the registry's own dispatcher delivering a backlog of "
            f"{d['events']:,} events to {d['subscribers']} receivers, against it paused, "
            f"alternately, {d.get('pairs', results['args']['pairs'])} pairs a scenario "
            "(medians of registry delivering ÷ paused; budget: within 10 %):",
            "",
            "| scenario | req/s ratio | p99 ratio | deliveries/s meanwhile | budget |",
            "|---|---|---|---|---|",
        ]
        for name, s in d["scenarios"].items():
            m = s["median"]
            ok = "✅" if m["rps_ratio"] >= 0.9 and m["p99_ratio"] <= 1.1 else "❌"
            lines.append(
                f"| {name} | {m['rps_ratio']:.2f}× | {m['p99_ratio']:.2f}× | "
                f"{m['deliveries_per_s']:,.0f} | {ok} |"
            )
    timed = [
        ("publish_black_seconds", "publish the black list", 60, "publish_black_entries"),
        ("publish_red_seconds", "publish the red list", 60, "publish_red_entries"),
        ("issue_100000_codes_seconds", "issue 100,000 codes in one call", 5, None),
    ]
    lines += ["", "| operation | seconds | budget |", "|---|---|---|"]
    for key, label, budget, entries in timed:
        if key in results:
            extra = f" ({results[entries]:,} entries)" if entries and results.get(entries) else ""
            ok = "✅" if results[key] <= budget else "❌"
            lines.append(f"| {label}{extra} | {results[key]:.2f} | ≤ {budget} s {ok} |")
    qr = results.get("qr")
    if qr:
        lines += [
            "",
            "| QR rendering (256 px, cache bypassed, one core) | images/s |",
            "|---|---|",
            f"| bare `qrcode` PNG loop (baseline) | {qr['qrcode_png_per_s']:,.0f} |",
            f"| bare `segno` PNG loop | {qr['segno_png_per_s']:,.0f} |",
            f"| registry PNG (`app.codes.qr`) | {qr['ours_png_per_s']:,.0f} "
            f"({qr['ours_png_per_s'] / qr['qrcode_png_per_s']:.2f}× qrcode) |",
            f"| registry SVG | {qr['ours_svg_per_s']:,.0f} |",
        ]
    if "load_seconds" in results:
        lines += ["", f"Loading the data set took {results['load_seconds']:.0f} s."]
    return "\n".join(lines)


def main() -> None:
    results = json.loads((ROOT / "var" / "bench" / "results.json").read_text())
    doc = ROOT / "BENCHMARKS.md"
    text = doc.read_text()
    if START not in text:
        sys.exit("BENCHMARKS.md has no figures markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(head + START + "\n" + table(results) + "\n" + END + tail)
    print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
