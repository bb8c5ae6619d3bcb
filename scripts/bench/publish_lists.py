"""Time the publication of the red and black lists at scale.

Creates a scratch database (dropped first if it exists), migrates it, loads N
organizations with their materialised credit statuses by COPY (a share of them
black-listed for a serious violation, a share red-listed), then publishes both
lists through the real service, as `qcr lists publish` does, and reports the
seconds each took.

    python scripts/bench/publish_lists.py --organizations 100000
    python scripts/bench/publish_lists.py --organizations 1000000 \
        --url postgresql://postgres@127.0.0.1:5432/qcr_bench_lists
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.approvals import service as approvals
from app.core import migrations
from app.core.clock import today
from app.core.database import Database, ensure_database, make_engine
from app.core.principal import SYSTEM
from app.core.settings import get_settings
from app.journal import heads, witness
from app.lists import service
from app.lists.models import ListPublication
from app.organizations.codes import make_uscc
from app.policy.months import first_day_outside
from app.wiring import install_listeners

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REGIONS = ["110105", "310115", "320505", "330106", "370202", "440305", "510107", "420106"]
TRADE = "华信金鼎恒瑞龙腾安泰宏达瑞丰新特天成永盛嘉禾鸿运明珠东方长城正大远航佳美康达同仁"
INDUSTRY = ["食品", "电器", "纺织", "玩具", "建材", "电缆", "汽配", "器械"]
NGRAM_INDEX = (
    "CREATE INDEX ix_organizations_name_ngrams ON organizations USING gin (qcr_ngrams(name))"
)


def _asyncpg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def recreate(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(
        make_url(_sqlalchemy_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()
    await ensure_database(_sqlalchemy_url(url))


def _reason(rule: str, effect: str, kind: str, record: uuid.UUID | None) -> dict[str, Any]:
    return {
        "rule_id": rule,
        "effect": effect,
        "record_type": kind,
        "record_id": str(record) if record else None,
        "explanation_zh": "",
        "explanation_en": "",
    }


def generate(
    n: int, black_share: float, red_share: float, seed: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of organizations, violations and credit_status."""
    rng = random.Random(seed)
    on = today()
    now = dt.datetime.now(dt.UTC)
    orgs: list[tuple[Any, ...]] = []
    violations: list[tuple[Any, ...]] = []
    statuses: list[tuple[Any, ...]] = []
    for i in range(n):
        org_id = uuid.uuid4()
        region = REGIONS[i % len(REGIONS)]
        body = "".join(ALPHABET[(i // 31**k) % 31] for k in range(8))[::-1]
        uscc = make_uscc("9", "1", region, body)
        name = f"{TRADE[i % 40]}{TRADE[(i // 40) % 40]}{INDUSTRY[i % 8]}有限公司{i}"
        orgs.append((org_id, uscc, uscc[8:17], name, region, "active"))
        draw = rng.random()
        base = _reason("BASE", "B", "grade_assessment", None)
        if draw < black_share:
            violation_id = uuid.uuid4()
            decided = on - dt.timedelta(days=rng.randint(0, 1000))
            violations.append(
                (
                    violation_id,
                    org_id,
                    f"市监罚〔{decided.year}〕{i}号",
                    "市场监督管理局",
                    decided,
                    "产品质量",
                    "serious",
                    "生产销售不合格产品，罚款并没收违法所得",
                    decided,  # published_on: imported records are published when decided
                )
            )
            leaves = first_day_outside(decided, 36)
            reasons = [base, _reason("S1", "D", "violation", violation_id)]
            statuses.append(
                (org_id, uscc, "D", "B", False, False, True, json.dumps(reasons), "v1", on,
                 leaves - dt.timedelta(days=1), decided, leaves, now)
            )  # fmt: skip
        elif draw < black_share + red_share:
            reasons = [_reason("BASE", "AAA", "grade_assessment", uuid.uuid4())]
            statuses.append(
                (org_id, uscc, "AAA", "AAA", True, True, False, json.dumps(reasons), "v1", on,
                 None, None, None, now)
            )  # fmt: skip
        else:
            statuses.append(
                (org_id, uscc, "B", "B", False, False, False, json.dumps([base]), "v1", on,
                 None, None, None, now)
            )  # fmt: skip
    return orgs, violations, statuses


async def load(url: str, rows: tuple[list[Any], list[Any], list[Any]]) -> None:
    orgs, violations, statuses = rows
    conn = await asyncpg.connect(_asyncpg_url(url))
    try:
        # The name search index is built once afterwards: far faster than per row.
        await conn.execute("DROP INDEX ix_organizations_name_ngrams")
        await conn.copy_records_to_table(
            "organizations",
            records=orgs,
            columns=["id", "uscc", "org_code", "name", "region_code", "status"],
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
                "public_summary",
                "published_on",
            ],
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
            ],
        )
        await conn.execute(NGRAM_INDEX)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def publish_both(url: str) -> list[tuple[str, int, float]]:
    database = Database(make_engine(_sqlalchemy_url(url), get_settings(), pool_size=2))
    install_listeners()
    # One official publishes: the bench times the list, not a second official's
    # approval of it (as bench.py's QCR_FOUR_EYES=false).
    approvals.configure(False)
    # A throwaway key for the scratch database's witness heads; no server runs the
    # sequencer here, so each publication sequences the log in its own transaction.
    witness.configure(heads.signer_from_seed(heads.new_seed()))
    results = []
    try:
        for kind in ("black", "red"):
            started = time.perf_counter()
            async with database.sessionmaker() as session:
                session.info[witness.INLINE] = True
                publication = await service.publish_list(session, SYSTEM, kind)
                await session.commit()
            assert isinstance(publication, ListPublication)  # four eyes are off here
            results.append((kind, publication.entry_count, time.perf_counter() - started))
    finally:
        await database.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", "-n", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/qcr_bench_lists")
    parser.add_argument("--black-share", type=float, default=0.05)
    parser.add_argument("--red-share", type=float, default=0.30)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    asyncio.run(recreate(args.url))
    migrations.upgrade(_sqlalchemy_url(args.url))
    started = time.perf_counter()
    rows = generate(args.organizations, args.black_share, args.red_share, args.seed)
    asyncio.run(load(args.url, rows))
    print(f"loaded {args.organizations} organizations in {time.perf_counter() - started:.1f} s")
    for kind, count, seconds in asyncio.run(publish_both(args.url)):
        print(f"{kind} list: {count} entries published in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
