"""The daily job over real rows: series, signals, their explanation and lifecycle."""

from __future__ import annotations

import datetime as dt
import os
import uuid

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.codes.models import Product
from app.core.clock import today
from app.core.database import Database
from app.core.settings import Settings
from app.journal.models import AuditEntry
from app.organizations.models import Organization
from app.records.models import Inspection
from app.signals import job, series
from app.signals.models import SeriesDay, Signal
from tests.codes.helpers import item_codes, make_product
from tests.complaints.helpers import complaint_body
from tests.factories import make_organization


async def _org(session: AsyncSession, region: str, industry: str = "C3854") -> str:
    uscc = await make_organization(session, region_code=region)
    await session.execute(
        text("UPDATE organizations SET industry_code = :i WHERE uscc = :u"),
        {"i": industry, "u": uscc},
    )
    return uscc


async def _inspections(
    session: AsyncSession, uscc: str, day: dt.date, total: int, failed: int
) -> None:
    org_id = await session.scalar(select(Organization.id).where(Organization.uscc == uscc))
    assert org_id is not None
    for n in range(total):
        session.add(
            Inspection(
                organization_id=org_id,
                report_no=f"T{uuid.uuid4().hex[:10]}",
                authority="测试局",
                inspected_on=day,
                product_name="电热水壶",
                standard="GB 4706.19-2008",
                result="fail" if n < failed else "pass",
            )
        )
    await session.flush()


async def test_a_failure_rate_jump_raises_one_binomial_signal(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    test_settings: Settings,
) -> None:
    day = today()
    elsewhere = await _org(session, "330212")
    here = await _org(session, "330106")
    for back in range(40, 100, 6):  # the category's baseline: 2 % failing
        await _inspections(session, elsewhere, day - dt.timedelta(days=back), 10, 0)
    await _inspections(session, elsewhere, day - dt.timedelta(days=50), 0, 0)
    await _inspections(session, elsewhere, day - dt.timedelta(days=60), 2, 2)
    await _inspections(session, here, day, 8, 6)
    result = await job.run_day(session, day, test_settings)
    await session.commit()
    assert result.raised >= 1
    row = await session.get(SeriesDay, (day, "failed_inspections", "C38", "3301"))
    assert row is not None and (row.value, row.trials) == (6, 8)
    signals = (
        await session.scalars(select(Signal).where(Signal.source == "failed_inspections"))
    ).all()
    assert [(s.method, s.region, s.category, s.level) for s in signals] == [
        ("binomial", "3301", "C38", 1)
    ]
    signal = signals[0]
    assert signal.observed == 6 and len(signal.records) == 6
    answer = await client.get(f"/v1/signals/{signal.id}", headers=regulator)
    assert answer.status_code == 200
    body = answer.json()
    assert "精确二项检验" in body["explanation_zh"] and "exact binomial" in body["explanation_en"]
    assert body["params"]["alpha"] == 0.001 and body["baseline"]["trials"] == 102
    # A re-run over the same data reproduces the signal and raises nothing new.
    again = await job.run_day(session, day, test_settings)
    assert again.raised == 0
    assert await session.scalar(select(func.count()).select_from(Signal)) == len(
        (await session.scalars(select(Signal))).all()
    )
    listed = await client.get(
        "/v1/signals", params={"region": "3301", "level": 1}, headers=regulator
    )
    assert [s["id"] for s in listed.json()["items"]] == [str(signal.id)]


async def test_complaints_raise_count_signals_and_the_lifecycle_is_audited(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    test_settings: Settings,
) -> None:
    uscc = await _org(session, "330106", "C14")
    for _ in range(6):
        response = await client.post(
            "/v1/complaints", json=complaint_body(uscc=uscc), headers=regulator
        )
        assert response.status_code == 201
    await job.run_day(session, today(), test_settings)
    await session.commit()
    raised = (await session.scalars(select(Signal).where(Signal.source == "complaints"))).all()
    assert sorted(s.method for s in raised) == ["ears_c2", "poisson_cusum"]
    assert all(s.level == 1 for s in raised)
    id = str(raised[0].id)

    async def move(to: str, **body: str) -> int:
        path = f"/v1/signals/{id}/transitions"
        response = await client.post(path, json={"to": to, **body}, headers=regulator)
        return response.status_code

    assert await move("escalated") == 409
    assert await move("triaged") == 200
    assert await move("dismissed") == 422
    assert await move("dismissed", reason="同一批次已立案") == 200
    assert await move("triaged") == 409
    assert await move("closed") == 200
    actions = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == id).order_by(AuditEntry.id)
        )
    ).all()
    assert actions == ["signal.raised", "signal.triaged", "signal.dismissed", "signal.closed"]


async def test_a_cloned_code_is_capped_at_level_2(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    test_settings: Settings,
) -> None:
    uscc = await _org(session, "330106", "C38")
    _, paths = await item_codes(client, regulator, uscc, count=1)
    serial = paths[0].rsplit("/", 1)[1]
    now = dt.datetime.now(test_settings.zone)
    await session.execute(
        text(
            "INSERT INTO item_scans (item_id, scanned_at, client_hash, agent) "
            "SELECT id, :at, :client, 'mobile' FROM item_codes WHERE serial = :serial"
        ),
        [{"at": now, "client": os.urandom(16), "serial": serial} for _ in range(30)],
    )
    await job.run_day(session, today(), test_settings)
    await session.commit()
    found = (await session.scalars(select(Signal).where(Signal.source == "suspicious"))).all()
    assert found and all(s.level == 2 for s in found)  # p ≈ 0, but anonymous: 二级 at most
    scans = await session.get(SeriesDay, (today(), "scans", "C38", "3301"))
    assert scans is not None and (scans.value, scans.events) == (30, 30)


async def test_anonymous_sources_count_one_client_per_ipv6_48_or_ipv4_address(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    test_settings: Settings,
) -> None:
    """SPEC §10: two addresses of one /48 (in different /64s) are one client, two
    /48s are two, and every IPv4 address is one."""
    uscc = await _org(session, "330106", "C38")
    _, paths = await item_codes(client, regulator, uscc, count=1)
    peers = ("2001:db8:7:1::5", "2001:db8:7:ffff::9", "2001:db8:8::1", "203.0.113.7", "203.0.113.8")
    for peer in peers:
        transport = ASGITransport(app=app, client=(peer, 40000))
        async with AsyncClient(transport=transport, base_url="http://test") as anonymous:
            scanned = await anonymous.get(paths[0], headers={"Accept": "application/json"})
            assert scanned.status_code == 200
            if peer.startswith("2001"):
                rated = await anonymous.post(f"{paths[0]}/feedback", json={"rating": 1})
                assert rated.status_code == 201
    await series.compute_days(session, today(), today(), test_settings.zone, 5)
    scans = await session.get(SeriesDay, (today(), "scans", "C38", "3301"))
    assert scans is not None and (scans.value, scans.events) == (4, 5)  # /48 A, /48 B, 2 IPv4
    ratings = await session.get(SeriesDay, (today(), "low_ratings", "C38", "3301"))
    assert ratings is not None and (ratings.value, ratings.events) == (2, 3)
    # The per-/64 hash stays what rate limits and `suspicious` count (SPEC §8).
    distinct = await session.scalar(text("SELECT count(DISTINCT client_hash) FROM item_scans"))
    assert distinct == 5


async def test_product_category_defaults_to_the_industry_class(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await _org(session, "330106", "C3854")
    gtin = await make_product(client, regulator, uscc)
    got = await client.get(f"/v1/products/{gtin}", headers=regulator)
    assert got.json()["category"] == "C38"
    own = await make_product(client, regulator, uscc, category="小家电")
    assert (await session.scalar(select(Product.category).where(Product.gtin == own))) == "小家电"


async def test_signal_rules_and_roles(client: AsyncClient, partner: dict[str, str]) -> None:
    rules = await client.get("/v1/signal-rules")
    first = rules.json()["items"][0]
    assert first["version"] == "s1" and first["min_count"] == 5
    assert first["detectors"]["ears_c2"]["threshold"] == 3.0
    assert first["detectors"]["poisson_cusum"]["h"] == 4.0
    assert (await client.get("/v1/signals", headers=partner)).status_code == 403
    assert (await client.get("/v1/signals")).status_code == 401


def test_the_daily_run_is_at_one() -> None:
    settings = Settings(QCR_TIMEZONE="Asia/Shanghai")
    zone = settings.zone
    before = dt.datetime(2026, 12, 1, 0, 59, tzinfo=zone)
    assert job.seconds_until_next_run(settings, before) == 60
    after = dt.datetime(2026, 12, 1, 1, 0, tzinfo=zone)
    assert job.seconds_until_next_run(settings, after) == 24 * 3600


def test_window_is_the_local_day() -> None:
    window = series.Window(dt.date(2026, 12, 1), dt.date(2026, 12, 1), Settings().zone)
    assert window.start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert window.end.isoformat() == "2026-12-02T00:00:00+08:00"


async def test_the_daily_run_catches_up_once(
    committed_client: AsyncClient, engine: AsyncEngine, test_settings: Settings
) -> None:
    database = Database(engine)
    day = today()
    first = await job.run_once(database, test_settings, day)
    assert [r.day for r in first] == [day - dt.timedelta(days=1)]
    assert await job.run_once(database, test_settings, day) == []
    later = await job.run_once(database, test_settings, day + dt.timedelta(days=3))
    assert [r.day for r in later] == [day + dt.timedelta(days=n) for n in range(3)]
