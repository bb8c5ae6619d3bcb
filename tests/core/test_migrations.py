"""Migrations up, down and up again; models and schema agree; the CLI on a real database."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from app import cli
from app.audit import chain, verify
from app.core import migrations
from app.core.settings import get_settings
from app.journal import heads, sequencer
from app.models import metadata
from tests.conftest import TEST_SIGNING_KEY, DatabaseUnderTest
from tests.scratch import scratch_database, scratch_url

pytestmark = pytest.mark.usefixtures("test_database")


@pytest.fixture
def scratch(test_database: DatabaseUnderTest) -> Iterator[str]:
    """A separate, empty database on the test server (owner URL)."""
    with scratch_database(
        scratch_url(test_database.owner_url, test_database.name + "_scratch")
    ) as url:
        yield url


async def _diff(url: str) -> list[object]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.migrations import include_object

    engine = create_async_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(
                    sync, opts={"compare_type": True, "include_object": include_object}
                ),
                metadata,
            )
        )
    await engine.dispose()
    return list(diff)


async def _tables(url: str) -> set[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


def test_upgrade_downgrade_upgrade_and_no_drift(scratch: str) -> None:
    migrations.upgrade(scratch)
    assert "organizations" in asyncio.run(_tables(scratch))
    migrations.downgrade(scratch, "base")
    assert asyncio.run(_tables(scratch)) == {"alembic_version"}
    migrations.upgrade(scratch)
    assert asyncio.run(_diff(scratch)) == []


async def _sequence(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        assert await sequencer.catch_up(engine, heads.signer_from_seed(TEST_SIGNING_KEY))
    finally:
        await engine.dispose()


def test_cli_audit_verify_detects_an_altered_row(
    scratch: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch)
    monkeypatch.setenv("QCR_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        assert cli.main(["apikey", "create", "--name", "ops", "--role", "admin"]) == 0
        secret = capsys.readouterr().out.strip().splitlines()[-1]
        assert secret.startswith("qcr_")
        assert cli.main(["apikey", "create", "--name", "bank", "--role", "partner"]) == 0
        capsys.readouterr()
        assert cli.main(["audit", "verify"]) == 0  # nothing sequenced: reported, not failed
        out = capsys.readouterr().out
        # The policy schedule stored at first start (SPEC §4.1), then the two keys.
        assert "3 entries are not sequenced yet" in out and "intact" in out
        asyncio.run(_sequence(scratch))
        assert cli.main(["audit", "verify"]) == 0
        assert "3 leaves, 1 signed tree heads" in capsys.readouterr().out

        asyncio.run(
            _admin_execute_in(
                scratch,
                "SET session_replication_role = replica; "
                "UPDATE audit_entries SET actor_role = 'regulator' WHERE id = "
                "(SELECT entry_id FROM audit_log WHERE seq = 1)",
            )
        )
        assert cli.main(["audit", "verify"]) == 1
        assert "audit log broken: entry seq 1 " in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_turn_one_chain_becomes_the_first_leaves_and_old_witnesses_verify(scratch: str) -> None:
    """Migration 0101 on a turn-1 database: chained entries keep their order as
    seq 1..n, the feed keeps its numbers, and an old publication's witness (a
    chain link) still verifies — and a wrong one is named."""
    migrations.upgrade(scratch, "0006")
    prev, statements = chain.GENESIS, []
    at = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    for seq in (1, 2, 3):
        payload = chain.entry_payload(
            seq=seq, at=at, actor_key_id=None, actor_role="admin", action="apikey.create",
            entity="api_key", entity_id=str(seq), before=None, after={"n": seq, "v": "值"},
        )  # fmt: skip
        link = chain.link_hash(prev, payload)
        statements.append(
            "INSERT INTO audit_entries (seq, at, actor_role, action, entity, entity_id, after, "
            f"prev_hash, hash) VALUES ({seq}, '{at.isoformat()}', 'admin', 'apikey.create', "
            f"'api_key', '{seq}', '{{\"n\": {seq}, \"v\": \"值\"}}', '{prev}', '{link}')"
        )
        statements.append(
            "INSERT INTO change_events (seq, type, uscc, at, data) "
            f"VALUES ({seq}, 'test', '', '{at.isoformat()}', '{{}}')"
        )
        prev = link
    witness = "INSERT INTO list_publications (kind, number, as_of, published_at, entry_count, "
    witness += "sha256, audit_seq, audit_hash, policy_version) VALUES "
    statements.append(
        witness
        + f"('red', 1, '2026-11-01', '{at.isoformat()}', 0, '', 2, '{link_2(statements)}', 'v1')"
    )
    asyncio.run(_admin_execute_in(scratch, "; ".join(statements)))
    migrations.upgrade(scratch)
    asyncio.run(_sequence(scratch))
    report, seqs, feed = asyncio.run(_after_migration(scratch))
    assert report.failure is None, report.failure
    assert (report.leaves, report.witnesses) == (3, 1)
    assert seqs == [(1, 1), (2, 2), (3, 3)]  # (seq, old chain seq)
    assert feed == [(1, 1), (2, 2), (3, 3)]

    asyncio.run(
        _admin_execute_in(
            scratch,
            "SET session_replication_role = replica; "
            "UPDATE list_publications SET audit_hash = repeat('0', 64)",
        )
    )
    report, _, _ = asyncio.run(_after_migration(scratch))
    assert (
        report.failure == "publication red/1: its witness (chain link 2) does not match the chain"
    )


def link_2(statements: list[str]) -> str:
    """The chain hash of entry 2, from its INSERT statement."""
    return statements[2].rsplit("'", 2)[-2]


async def _after_migration(
    url: str,
) -> tuple[verify.Report, list[tuple[int, int]], list[tuple[int, int]]]:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            report = await verify.verify(session)
            seqs = [
                tuple(r)
                for r in await session.execute(
                    text("SELECT seq, entry_id FROM audit_log ORDER BY seq")
                )
            ]
            feed = [
                tuple(r)
                for r in await session.execute(
                    text("SELECT seq, event_id FROM change_sequence ORDER BY seq")
                )
            ]
    finally:
        await engine.dispose()
    return report, seqs, feed


def test_apikey_create_requires_uscc_for_enterprise(
    scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch)
    get_settings.cache_clear()
    try:
        assert cli.main(["apikey", "create", "--name", "x", "--role", "enterprise"]) == 2
        assert (
            cli.main(
                [
                    "apikey",
                    "create",
                    "--name",
                    "x",
                    "--role",
                    "enterprise",
                    "--uscc",
                    "91110000600037341X",
                ]
            )
            == 2
        )
    finally:
        get_settings.cache_clear()


async def _admin_execute_in(url: str, sql: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in sql.split("; "):
            await conn.execute(text(statement))
    await engine.dispose()
