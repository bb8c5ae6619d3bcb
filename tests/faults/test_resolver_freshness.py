"""The resolver's caches and scan buffers on two serving processes (SPEC §6
Freshness): a new recall is on every process's page within 1 s of its commit;
scans are written within a moment and flushed when a process stops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.database import make_engine
from app.core.settings import Settings
from tests.codes.helpers import item_codes
from tests.factories import committed_key, committed_organization
from tests.faults.conftest import FaultServer
from tests.faults.servers import serving
from tests.records.helpers import grade, recall
from tests.waiting import wait_for

JSON = {"Accept": "application/json"}
STORED_SCANS = text(
    "SELECT i.scan_count FROM item_codes i JOIN batches b ON b.id = i.batch_id "
    "JOIN products p ON p.id = b.product_id JOIN organizations o "
    "ON o.id = p.organization_id WHERE o.uscc = :u"
)


async def _stored_scans(url: str, uscc: str) -> int:
    """The scan count written to the database (a read of it through the resolver
    would count a scan itself)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(STORED_SCANS, {"u": uscc}) or 0)
    finally:
        await engine.dispose()


async def test_a_new_recall_reaches_every_process_within_a_second(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    await engine.dispose()

    async with (
        serving(fault_server, fault_settings, tmp_path) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        writer = httpx.AsyncClient(base_url=first.base, timeout=10)
        gtin, paths = await item_codes(writer, regulator, uscc, count=2, lot="L2026-01")
        for served in (first, second):  # both processes now hold the batch's document
            for _ in range(3):
                page = await client.get(served.base + paths[0], headers=JSON)
                assert page.status_code == 200, page.text
                assert page.json()["recalls"] == []
        body = recall(gtin=gtin, lots=["L2026-01"])
        made = await writer.post(f"/v1/organizations/{uscc}/recalls", json=body, headers=regulator)
        committed = time.monotonic()
        assert made.status_code == 201, made.text
        await writer.aclose()
        await asyncio.sleep(max(0.0, committed + 1.0 - time.monotonic()))
        for served in (second, first):
            page = await client.get(served.base + paths[1], headers=JSON)
            assert [r["recall_no"] for r in page.json()["recalls"]] == [body["recall_no"]]
        metrics = (await client.get(second.base + "/metrics")).text
        assert "qcr_http_requests_total" in metrics


async def test_scans_are_counted_across_processes_and_flushed_on_stop(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    await engine.dispose()

    async with (
        serving(fault_server, fault_settings, tmp_path) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        async with httpx.AsyncClient(base_url=first.base, timeout=10) as writer:
            _, paths = await item_codes(writer, regulator, uscc, count=1)
        url = paths[0]
        seen = [
            (await client.get(first.base + url, headers=JSON)).json()["item"]["scan_count"]
            for _ in range(3)
        ]
        assert seen == [1, 2, 3]  # this process's unwritten scans count at once

        async def written() -> bool:
            return await _stored_scans(fault_server.owner_url, uscc) == 3

        await wait_for(written, "the 3 scans written")  # within a moment; then read elsewhere
        other = (await client.get(second.base + url, headers=JSON)).json()["item"]
        assert other["scan_count"] == 4
        # Scans the second process has not written yet are flushed when it stops.
        for _ in range(5):
            assert (await client.get(second.base + url, headers=JSON)).status_code == 200
        assert await second.stop() == 0
    owner = create_async_engine(fault_server.owner_url)
    try:
        async with owner.connect() as conn:
            stored = await conn.scalar(STORED_SCANS, {"u": uscc})
            rows = await conn.scalar(
                text(
                    "SELECT count(*) FROM item_scans s JOIN item_codes i ON i.id = s.item_id "
                    "JOIN batches b ON b.id = i.batch_id JOIN products p ON p.id = b.product_id "
                    "JOIN organizations o ON o.id = p.organization_id WHERE o.uscc = :u"
                ),
                {"u": uscc},
            )
    finally:
        await owner.dispose()
    assert stored == rows == 9


async def test_a_new_grade_reaches_every_processs_credit_answers_within_a_second(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    """The credit answer cache (app/credit/answers.py) of single lookups and
    batches: answers from the cache equal those the database builds, and a grade
    recorded on one process is in every process's answers 1 s after its commit."""
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    uscc = await committed_organization(engine)
    await engine.dispose()
    legacy = f"{uscc[8:16]}-{uscc[16]}"  # the organization code, with its hyphen
    batch = {"codes": [uscc, legacy, "not-a-code"]}

    async def answers(base: str) -> tuple[dict[str, object], list[dict[str, object]]]:
        single = await client.get(f"{base}/v1/organizations/{uscc}/credit")
        many = await client.post(f"{base}/v1/credit/batch", json=batch, headers=partner)
        assert single.status_code == 200 and many.status_code == 200, (single, many)
        return single.json(), many.json()["results"]

    async with (
        serving(fault_server, fault_settings, tmp_path) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        for served in (first, second):
            built = await answers(served.base)  # from the database, then cached
            for _ in range(2):
                assert await answers(served.base) == built  # from the cache, the same
            single, results = built
            assert single["grade"] == "B"
            assert [r.get("grade") for r in results] == ["B", "B", None]
            assert [r["code"] for r in results] == batch["codes"]
        made = await client.post(
            f"{first.base}/v1/organizations/{uscc}/grades", json=grade(), headers=regulator
        )
        committed = time.monotonic()
        assert made.status_code == 201, made.text
        await asyncio.sleep(max(0.0, committed + 1.0 - time.monotonic()))
        for served in (second, first):
            single, results = await answers(served.base)
            assert single["grade"] == "AA"
            assert [r.get("grade") for r in results] == ["AA", "AA", None]


async def test_day_counts_of_scans_from_two_processes_count_each_client_once(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    """The signals' day counters (app/codes/daycounts.py) written by two scan
    writers at once: every scan counted, a client that scanned on both processes
    counted once (issue #15)."""
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    await engine.dispose()
    trusted = {"QCR_TRUSTED_PROXIES": "127.0.0.1"}  # so that X-Forwarded-For names the client
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    async with (
        serving(fault_server, fault_settings, tmp_path, extra=trusted) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        async with httpx.AsyncClient(base_url=first.base, timeout=10) as writer:
            _, paths = await item_codes(writer, regulator, uscc, count=2)
        before = await _day_counts(fault_server.owner_url, uscc)
        scans = [  # (process, client): 10.0.0.2 scans on both
            (first, "10.0.0.1"),
            (first, "10.0.0.2"),
            (second, "10.0.0.2"),
            (second, "10.0.0.3"),
        ] * 3
        answers = await asyncio.gather(
            *(
                client.get(
                    served.base + paths[n % 2],
                    headers=JSON | {"X-Forwarded-For": address, "User-Agent": phone},
                )
                for n, (served, address) in enumerate(scans)
            )
        )
        assert all(a.status_code == 200 for a in answers)

        async def counted() -> bool:
            return (await _day_counts(fault_server.owner_url, uscc))[0] == before[0] + len(scans)

        await wait_for(counted, "both processes' scans written and counted")
        _, clients = await _day_counts(fault_server.owner_url, uscc)
        assert clients - before[1] == 3


async def _day_counts(url: str, uscc: str) -> tuple[int, int]:
    """(scans, distinct clients) of today's counters in the organization's prefecture."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT coalesce(sum(c.scans), 0), coalesce(sum(c.clients), 0) "
                        "FROM scan_day_counts c JOIN organizations o "
                        "ON c.region = left(o.region_code, 4) WHERE o.uscc = :u"
                    ),
                    {"u": uscc},
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()
