"""Load a benchmark data set of realistic size with COPY.

1,000,000 organizations (default) with grades, violations, inspections and
recalls in proportion (30% assessed, 6% with violations, 20% inspected, 0.5%
recalled), their materialised credit statuses (computed by the real policy
engine), and — when the codes tables exist — 10,000 products, batches and
1,000,000 item codes. Writes `var/bench/sample.json` with codes and paths for
the load generator.

    python scripts/bench/dataset.py --owner-url postgresql://postgres@/qcr?host=... --organizations 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from app.organizations.codes import make_uscc
from app.policy import policy

ROOT = Path(__file__).resolve().parents[2]
REGIONS = [
    "110105",
    "110108",
    "310115",
    "320505",
    "330106",
    "370202",
    "440305",
    "440106",
    "510107",
    "420106",
]
CITIES = {
    "11": "北京",
    "31": "上海",
    "32": "苏州",
    "33": "杭州",
    "37": "青岛",
    "44": "深圳",
    "51": "成都",
    "42": "武汉",
}
TRADE = "华信金鼎恒瑞龙腾安泰宏达瑞丰新特天成永盛嘉禾鸿运明珠东方长城正大远航佳美康达同仁"
INDUSTRY = ["食品", "电器", "纺织", "玩具", "建材", "电缆", "汽配", "器械", "燃具", "童装"]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TODAY = dt.date.today()


def _pg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def organizations(n: int, rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        region = REGIONS[i % len(REGIONS)]
        body = "".join(ALPHABET[(i // 31**k) % 31] for k in range(8))[::-1]
        uscc = make_uscc("9", "1", region, body)
        name = (
            f"{CITIES[region[:2]]}{TRADE[i % 20 * 2 : i % 20 * 2 + 2]}{TRADE[(i // 20) % 40]}"
            f"{INDUSTRY[(i // 800) % 10]}有限公司{i}"
        )
        rows.append(
            (
                uuid.uuid4(),
                uscc,
                uscc[8:17],
                name,
                f"{CITIES[region[:2]]}市工业园区{i % 500}号",
                region,
                "C14",
                "张三",
                "active" if rng.random() > 0.02 else "deregistered",
                1,
                now,
                now,
                None,
            )
        )
    return rows


async def load(owner_url: str, n: int, products: int, codes: int) -> dict[str, Any]:
    rng = random.Random(42)
    conn = await asyncpg.connect(_pg_url(owner_url))
    started = time.perf_counter()
    timings: dict[str, float] = {}
    await conn.execute("SET session_replication_role = replica")  # skip triggers for the bulk load
    # COPY is binary: jsonb's binary form is a version byte and the text.
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: b"\x01" + v.encode(),
        decoder=lambda b: orjson.loads(b[1:]),
        schema="pg_catalog",
        format="binary",
    )
    tables = [
        "credit_status",
        "record_versions",
        "grade_assessments",
        "violations",
        "inspections",
        "recalls",
        "organizations",
    ]
    await conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
    orgs = organizations(n, rng)
    await conn.copy_records_to_table(
        "organizations",
        records=orgs,
        columns=[
            "id",
            "uscc",
            "org_code",
            "name",
            "address",
            "region_code",
            "industry_code",
            "legal_representative",
            "status",
            "version",
            "created_at",
            "updated_at",
            "created_by",
        ],
    )
    timings["organizations"] = time.perf_counter() - started

    histories: dict[int, dict[str, list[Any]]] = {}
    grades, violations, inspections, recalls = [], [], [], []
    now = dt.datetime.now(dt.UTC)
    for i, org in enumerate(orgs):
        r = rng.random()
        parts: dict[str, list[Any]] = {}
        if r < 0.30:
            assessed = TODAY - dt.timedelta(days=rng.randint(1, 700))
            g = rng.choice(["AAA", "AA", "A", "A", "B", "C"])
            row: tuple[Any, ...] = (
                uuid.uuid4(),
                org[0],
                g,
                assessed,
                assessed + dt.timedelta(days=1095),
                "省市场监督管理局",
                None,
                1,
                now,
                now,
                None,
            )
            grades.append(row)
            parts["assessments"] = [policy.Assessment(row[0], g, assessed, row[4])]
        if rng.random() < 0.06:
            decided = TODAY - dt.timedelta(days=rng.randint(1, 1200))
            sev = rng.choice(["minor", "minor", "general", "general", "serious"])
            rectified = (
                decided + dt.timedelta(days=30)
                if rng.random() < 0.6 and decided + dt.timedelta(days=30) <= TODAY
                else None
            )
            row = (
                uuid.uuid4(),
                org[0],
                f"案{i}",
                "市场监督管理局",
                decided,
                "产品质量",
                sev,
                "内部",
                "生产销售不合格产品",
                5000,
                rectified,
                None,
                None,
                None,
                1,
                now,
                now,
                None,
                decided,  # published_on: imported records are published when decided
            )
            violations.append(row)
            parts["violations"] = [
                policy.Violation(row[0], row[2], row[3], decided, sev, rectified_on=rectified)
            ]
        if rng.random() < 0.20:
            inspected = TODAY - dt.timedelta(days=rng.randint(1, 600))
            result = "fail" if rng.random() < 0.1 else "pass"
            row = (
                uuid.uuid4(),
                org[0],
                f"JD{i}",
                "市场监督管理局",
                inspected,
                "电热水壶",
                None,
                None,
                "GB 4706.19-2008",
                result,
                [] if result == "pass" else ["泄漏电流"],
                None,
                1,
                now,
                now,
                None,
            )
            inspections.append(row)
            parts["inspections"] = [policy.Inspection(row[0], inspected, result)]
        if rng.random() < 0.005:
            initiated = TODAY - dt.timedelta(days=rng.randint(1, 500))
            kind = rng.choice(["voluntary", "ordered"])
            row = (
                uuid.uuid4(),
                org[0],
                f"RC{i}",
                "儿童滑板车",
                None,
                None,
                initiated,
                kind,
                2,
                1000,
                "更换",
                "ongoing",
                1,
                now,
                now,
                None,
            )
            recalls.append(row)
            parts["recalls"] = [policy.Recall(row[0], initiated, kind)]
        if parts:
            histories[i] = parts
    common = ["version", "created_at", "updated_at", "created_by"]
    await conn.copy_records_to_table(
        "grade_assessments",
        records=grades,
        columns=[
            "id",
            "organization_id",
            "grade",
            "assessed_on",
            "valid_until",
            "authority",
            "basis",
            *common,
        ],
    )
    await conn.copy_records_to_table(
        "violations",
        records=violations,
        columns=[
            "id",
            "organization_id",
            "case_no",
            "authority",
            "decided_on",
            "category",
            "severity",
            "description",
            "public_summary",
            "penalty_amount",
            "rectified_on",
            "revoked_on",
            "revoked_reason",
            "repaired_on",
            *common,
            "published_on",
        ],
    )
    await conn.copy_records_to_table(
        "inspections",
        records=inspections,
        columns=[
            "id",
            "organization_id",
            "report_no",
            "authority",
            "inspected_on",
            "product_name",
            "gtin",
            "lot",
            "standard",
            "result",
            "failed_items",
            "rectified_on",
            *common,
        ],
    )
    await conn.copy_records_to_table(
        "recalls",
        records=recalls,
        columns=[
            "id",
            "organization_id",
            "recall_no",
            "product_name",
            "gtin",
            "lots",
            "initiated_on",
            "kind",
            "hazard_class",
            "units",
            "remedy",
            "status",
            *common,
        ],
    )
    timings["records"] = time.perf_counter() - started

    statuses: list[tuple[Any, ...]] = []
    default = policy.evaluate(policy.History(status="active"), TODAY)
    for i, org in enumerate(orgs):
        found = histories.get(i)
        hist = policy.History(
            status=org[8],
            assessments=tuple(found.get("assessments", ())) if found else (),
            violations=tuple(found.get("violations", ())) if found else (),
            inspections=tuple(found.get("inspections", ())) if found else (),
            recalls=tuple(found.get("recalls", ())) if found else (),
        )
        credit = policy.evaluate(hist, TODAY) if found or org[8] != "active" else default
        since = policy.black_listed_since(hist, TODAY) if credit.black_list else None
        reasons = [
            {
                "rule_id": r.rule_id,
                "effect": r.effect,
                "record_type": r.record_type,
                "record_id": str(r.record_id) if r.record_id else None,
                "explanation_zh": r.explanation_zh,
                "explanation_en": r.explanation_en,
            }
            for r in credit.reasons
        ]
        statuses.append(
            (
                org[0],
                org[1],
                credit.grade,
                credit.assessed_grade,
                credit.a_level,
                credit.red_list,
                credit.black_list,
                orjson.dumps(reasons).decode(),
                "v1",
                TODAY,
                credit.holds_until,
                since,
                credit.expected_exit,
                now,
                orjson.dumps(reasons).decode(),  # public: no reason has a publication end
                None,
            )
        )
    await conn.copy_records_to_table(
        "credit_status",
        records=statuses,
        columns=[
            "organization_id",
            "uscc",
            "grade",
            "assessed_grade",
            "a_level",
            "red_list",
            "black_list",
            "reasons",
            "policy_version",
            "as_of",
            "holds_until",
            "listed_since",
            "expected_exit",
            "updated_at",
            "public_reasons",
            "public_until",
        ],
    )
    timings["credit_status"] = time.perf_counter() - started
    items: list[str] = []
    heavy: list[str] = []
    issue_batch = None
    if products and await conn.fetchval("SELECT to_regclass('item_codes') IS NOT NULL"):
        items, issue_batch, heavy = await load_codes(conn, orgs, products, codes, rng)
        timings["codes"] = time.perf_counter() - started
    await conn.execute("ANALYZE")
    sample = {
        "item_paths": items,
        "heavy_item_paths": heavy,
        "issue_batch": issue_batch,
        "usccs": [o[1] for o in rng.sample(orgs, min(20000, n))],
        "counts": {
            "organizations": n,
            "grades": len(grades),
            "violations": len(violations),
            "inspections": len(inspections),
            "recalls": len(recalls),
            "black": sum(1 for s in statuses if s[6]),
            "red": sum(1 for s in statuses if s[5]),
            "products": products if items else 0,
            "item_codes": codes if items else 0,
        },
        "timings": timings,
    }
    await conn.close()
    return sample


async def load_codes(
    conn: asyncpg.Connection,
    orgs: list[tuple[Any, ...]],
    products: int,
    codes: int,
    rng: random.Random,
) -> tuple[list[str], str, list[str]]:
    """Products (one batch each) with `codes` item codes spread over them, and one
    extra empty batch for the code-issuance benchmark. Serials are real: tagged with
    the code secret the registry will use (QCR_CODE_SECRET or the data-dir file)."""
    from app.codes.secret import load_code_secret
    from app.codes.serials import issue_serials
    from app.core.settings import Settings
    from app.identifiers.gtin import make_gtin

    secret = load_code_secret(Settings())
    await conn.execute(
        "TRUNCATE feedback, item_scans, item_scan_clients, item_codes, code_issuances, "
        "batches, products CASCADE"
    )
    now = dt.datetime.now(dt.UTC)
    product_rows, batch_rows, item_rows = [], [], []
    per_batch = max(1, codes // products)
    items: list[str] = []
    heavy: list[str] = []  # codes scanned 100,000 times each (a copied code)
    heavy_serials: list[str] = []
    issue_batch = ""
    for n in range(products + 1):
        org = orgs[rng.randrange(len(orgs))]
        gtin = make_gtin(f"69{n:010d}").zfill(14)
        product_id, batch_id = uuid.uuid4(), uuid.uuid4()
        product_rows.append(
            (
                product_id,
                gtin,
                org[0],
                f"电热水壶 {n}",
                f"HX-{n}",
                "GB 4706.19-2008",
                org[3],
                org[4],
                now,
                None,
            )
        )
        lot = f"L{n:06d}"
        reports = orjson.dumps(
            [{"report_no": f"CJ-{n}", "authority": "检验机构", "result": "pass"}]
        ).decode()
        count = 0 if n == products else per_batch
        batch_rows.append(
            (
                batch_id,
                product_id,
                lot,
                TODAY - dt.timedelta(days=30),
                None,
                reports,
                count,
                now,
                None,
            )
        )
        if count:
            serials = issue_serials(secret, gtin, lot, count)
            item_rows += [(batch_id, s) for s in serials]
            if len(items) < 20000:
                items += [f"/01/{gtin}/10/{lot}/21/{s}" for s in serials[:3]]
            if len(heavy) < HEAVY_CODES and per_batch > 3:
                heavy.append(f"/01/{gtin}/10/{lot}/21/{serials[3]}")
                heavy_serials.append(serials[3])
        else:
            issue_batch = f"/v1/products/{gtin}/batches/{lot}/codes"
    await conn.copy_records_to_table(
        "products",
        records=product_rows,
        columns=[
            "id",
            "gtin",
            "organization_id",
            "name",
            "model",
            "execution_standard",
            "factory_name",
            "factory_address",
            "created_at",
            "created_by",
        ],
    )
    await conn.copy_records_to_table(
        "batches",
        records=batch_rows,
        columns=[
            "id",
            "product_id",
            "lot",
            "produced_on",
            "expires_on",
            "inspection_reports",
            "code_count",
            "created_at",
            "created_by",
        ],
    )
    await conn.copy_records_to_table(
        "item_codes", records=item_rows, columns=["batch_id", "serial"]
    )
    rng.shuffle(items)
    await scan_heavily(conn, heavy_serials)
    return items, issue_batch, heavy


HEAVY_CODES = 16
HEAVY_SCANS = 100_000


async def scan_heavily(conn: asyncpg.Connection, serials: list[str]) -> None:
    """100,000 stored scans for each of these codes, from 5,000 different clients,
    with the counters and kept clients the registry maintains."""
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM item_codes WHERE serial = ANY($1::text[])", serials
        )
    ]
    await conn.execute(
        """
        INSERT INTO item_scans (item_id, scanned_at, client_hash, agent)
        SELECT i, now() - (g || ' seconds')::interval,
               substring(sha256((g % 5000)::text::bytea) for 16), 'mobile'
        FROM unnest($1::bigint[]) AS i, generate_series(1, $2::int) AS g
        """,
        ids,
        HEAVY_SCANS,
    )
    await conn.execute(
        "UPDATE item_codes SET scan_count = $2, first_scanned_at = now() - interval '2 days' "
        "WHERE id = ANY($1::bigint[])",
        ids,
        HEAVY_SCANS,
    )
    await conn.execute(
        """
        INSERT INTO item_scan_clients (item_id, client_hash, ordinal)
        SELECT i, substring(sha256(g::text::bytea) for 16), g
        FROM unnest($1::bigint[]) AS i, generate_series(1, 32) AS g
        """,
        ids,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--owner-url", required=True)
    parser.add_argument("--organizations", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "sample.json")
    args = parser.parse_args()
    sample = asyncio.run(load(args.owner_url, args.organizations, args.products, args.codes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(sample, ensure_ascii=False))
    print(json.dumps({"counts": sample["counts"], "timings": sample["timings"]}))


if __name__ == "__main__":
    main()
