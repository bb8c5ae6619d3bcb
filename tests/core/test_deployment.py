"""Start-up refuses the deployment traps of issue #13 item 6."""

from __future__ import annotations

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from structlog.testing import capture_logs

from app.apikeys import service as apikey_service
from app.auth.models import ApiKey
from app.auth.service import hash_secret
from app.core import deployment
from app.core.database import Database, make_fast_pool
from app.core.principal import SYSTEM
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import DatabaseUnderTest
from tests.factories import committed_key

SECRET = "deployment-secret-0123456789"


def _settings(url: str, **extra: str) -> Settings:
    return Settings.model_validate({"DATABASE_URL": url, **extra})


async def test_the_schema_owner_as_service_role_is_refused(
    test_database: DatabaseUnderTest,
) -> None:
    """Was accepted: with only DATABASE_URL the service ran as the owner of the logs."""
    settings = _settings(test_database.owner_url, QCR_CODE_SECRET=SECRET)
    with pytest.raises(deployment.UnsafeDeployment) as refused:
        await deployment.check(settings, test_database.owner_url)
    assert "audit_entries" in str(refused.value) or "superuser" in str(refused.value)
    report = await deployment.inspect_role(test_database.owner_url)
    assert not report.safe


async def test_the_flag_turns_the_refusal_into_a_loud_warning(
    test_database: DatabaseUnderTest,
) -> None:
    settings = _settings(
        test_database.owner_url, QCR_CODE_SECRET=SECRET, QCR_ALLOW_PRIVILEGED_ROLE="true"
    )
    with capture_logs() as logs:
        await deployment.check(settings, test_database.owner_url)
    assert [entry["event"] for entry in logs] == ["unsafe_service_role"]
    assert logs[0]["log_level"] == "warning"


async def test_the_service_login_passes(test_database: DatabaseUnderTest) -> None:
    report = await deployment.inspect_role(test_database.service_url)
    assert report.safe, report
    settings = _settings(test_database.service_url, QCR_CODE_SECRET=SECRET)
    await deployment.check(settings, test_database.service_url)


async def test_a_code_secret_is_required_with_database_url(
    test_database: DatabaseUnderTest,
) -> None:
    """Was accepted: each container then generated a secret of its own."""
    settings = _settings(test_database.service_url)
    with pytest.raises(deployment.UnsafeDeployment, match="QCR_CODE_SECRET"):
        await deployment.check(settings, test_database.service_url)
    # The embedded default keeps its secret in the data dir: no refusal.
    await deployment.check(Settings(), test_database.service_url)


def test_the_image_does_not_migrate_at_start() -> None:
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD")]
    assert cmd and "--no-migrate" in cmd[-1]


async def test_a_revoked_key_is_refused_while_the_replica_lags(
    test_database: DatabaseUnderTest,
    test_settings: Settings,
    engine: AsyncEngine,
    committed_client: AsyncClient,  # empties the tables afterwards
    worker_id: str,
) -> None:
    """Was 200: keys were looked up on the read pool, and a replica that has not yet
    replayed the revocation still held the key as live (SPEC §1: refused within 1 s).
    The lagging replica is a real database holding the key row as it was."""
    headers = await committed_key(engine, "partner")
    secret = headers["Authorization"].split()[1]
    async with AsyncSession(engine, expire_on_commit=False) as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
        assert key is not None
        await apikey_service.revoke_key(s, SYSTEM, key.id)
        await s.commit()
    server = make_url(test_database.owner_url)
    lag_name = f"qcr_lagging_{worker_id}"
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{lag_name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{lag_name}"'))
    lag_url = server.set(database=lag_name).render_as_string(hide_password=False)
    lagging = create_async_engine(lag_url)
    async with lagging.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE api_keys "
                "(id uuid, role text, uscc text, key_hash text, revoked_at timestamptz)"
            )
        )
        await conn.execute(
            text("INSERT INTO api_keys VALUES (:id, 'partner', NULL, :h, NULL)"),
            {"id": key.id, "h": key.key_hash},
        )
    await lagging.dispose()
    replica_pool = await make_fast_pool(lag_url, test_settings)
    primary_pool = await make_fast_pool(test_database.service_url, test_settings)
    try:
        database = Database(engine, None, replica_pool, primary_pool)
        app = create_app(test_settings, database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/v1/changes", headers=headers)
        assert response.status_code == 401, response.text
    finally:
        await replica_pool.close()
        await primary_pool.close()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{lag_name}" WITH (FORCE)'))
        await admin.dispose()
