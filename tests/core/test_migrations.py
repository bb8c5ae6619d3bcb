"""Migrations up, down and up again; models and schema agree; the CLI on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import cli
from app.core import migrations
from app.core.database import ensure_database
from app.core.settings import get_settings
from app.models import metadata
from tests.conftest import DatabaseUnderTest

pytestmark = pytest.mark.usefixtures("test_database")


@pytest.fixture
def scratch(test_database: DatabaseUnderTest) -> Iterator[str]:
    """A separate, empty database on the test server (owner URL)."""
    url = make_url(test_database.owner_url).set(database=test_database.name + "_scratch")
    rendered = url.render_as_string(hide_password=False)
    asyncio.run(_recreate(rendered))
    yield rendered
    asyncio.run(_drop(rendered))


async def _admin_execute(url: str, sql: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def _recreate(url: str) -> None:
    name = make_url(url).database
    await _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await ensure_database(url)


async def _drop(url: str) -> None:
    await _admin_execute(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


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


def test_cli_audit_verify_detects_an_altered_row(
    scratch: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch)
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        assert cli.main(["apikey", "create", "--name", "ops", "--role", "admin"]) == 0
        secret = capsys.readouterr().out.strip().splitlines()[-1]
        assert secret.startswith("qcr_")
        assert cli.main(["apikey", "create", "--name", "bank", "--role", "partner"]) == 0
        assert cli.main(["audit", "verify"]) == 0
        assert "intact: 2 entries" in capsys.readouterr().out

        asyncio.run(
            _admin_execute_in(
                scratch,
                "SET session_replication_role = replica; "
                "UPDATE audit_entries SET actor_role = 'regulator' WHERE seq = 1",
            )
        )
        assert cli.main(["audit", "verify"]) == 1
        assert "broken at entry 1" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


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
