"""Test plumbing: one database per xdist worker, migrated once; every test runs
inside an outer transaction that is rolled back (STYLE 14).

By default the tests start the embedded PostgreSQL under `var/test-pg`.
`QCR_TEST_DATABASE_URL` (a superuser on a trust-auth server, for example
`postgresql://postgres@127.0.0.1:5432/postgres`) points them at another server.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.approvals import service as approvals_service
from app.core import embedded, migrations
from app.core.database import Database, ensure_database, get_session, make_engine
from app.core.settings import Settings, get_settings
from app.journal import heads, sequencer, witness
from app.main import create_app
from app.policy import versions
from app.wiring import install_listeners
from tests.factories import make_key

ROOT = Path(__file__).resolve().parents[1]
# A fixed Ed25519 seed (base64 of 32 bytes): tree heads of the tests are signed with it.
TEST_SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()

pytest_plugins = ["tests.browser", "tests.figures"]


@dataclass(frozen=True)
class DatabaseUnderTest:
    owner_url: str
    service_url: str
    name: str


def _server_url() -> str:
    """A superuser URL of the server the tests use (its `postgres` database)."""
    external = os.environ.get("QCR_TEST_DATABASE_URL")
    if external:
        url = Settings(DATABASE_URL=external).database_url
        assert url
        return url
    data_dir = Path(os.environ.get("QCR_TEST_DATA_DIR", ROOT / "var" / "test"))
    return embedded.url(embedded.start(data_dir), "postgres")


@pytest.fixture(scope="module", autouse=True)
def one_person_office_for_the_module() -> None:
    """The suite runs as a one-person office (QCR_FOUR_EYES=false): most tests act
    with one key. Set before each module's own fixtures (shared worlds), since a
    CLI test's start-up states the mode of its settings for the whole process."""
    approvals_service.configure(False)


@pytest.fixture(autouse=True)
def one_person_office() -> None:
    """Again before each test; four eyes is tested where a test asks for `four_eyes`."""
    approvals_service.configure(False)


@pytest.fixture(scope="session", autouse=True)
def audit_signer(test_settings: Settings) -> None:
    """Publications signed with the test key, and the journal's listeners installed,
    also where no app is made (demo data), as the CLI does."""
    witness.configure(heads.load_signer(test_settings))
    install_listeners()


@pytest.fixture
def v1_throughout() -> Iterator[None]:
    """Policy v1 for this test whatever dates it travels to (a v1 rule's edge that
    would otherwise fall after v2's effective date)."""
    with versions.v2_from(dt.date(2100, 1, 1)):
        yield


@pytest.fixture
def four_eyes() -> Iterator[None]:
    """Four eyes on (the default of a deployment) for this test."""
    approvals_service.configure(True)
    try:
        yield
    finally:
        approvals_service.configure(False)


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    get_settings.cache_clear()
    # A public limit no test reaches by accident; tests/security checks the limit itself.
    return Settings(
        QCR_CODE_SECRET="test-secret-0123456789abcdef",
        QCR_AUDIT_SIGNING_KEY=TEST_SIGNING_KEY,
        QCR_FOUR_EYES=False,
        QCR_LOG_JSON=True,
        QCR_RATE_LIMIT_PUBLIC="100000/minute",
    )


@pytest.fixture(scope="session")
async def test_database(worker_id: str) -> AsyncIterator[DatabaseUnderTest]:
    server = make_url(_server_url())
    name = f"qcr_test_{worker_id}"
    owner = server.set(database=name)
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await ensure_database(owner.render_as_string(hide_password=False))
    owner_url = owner.render_as_string(hide_password=False)
    await migrations.upgrade_async(owner_url)
    service_url = owner.set(username=embedded.SERVICE_LOGIN, password=None).render_as_string(
        hide_password=False
    )
    yield DatabaseUnderTest(owner_url, service_url, name)
    await admin.dispose()


@pytest.fixture(scope="session")
async def engine(
    test_database: DatabaseUnderTest, test_settings: Settings
) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(test_database.service_url, test_settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def owner_engine(test_database: DatabaseUnderTest) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_database.owner_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        await outer.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """The session every request of the test shares; its commits are savepoints."""
    session = AsyncSession(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        # Nothing commits in a test: the journal sequences in this transaction.
        info={witness.INLINE: True},
    )
    yield session
    await session.close()


@pytest.fixture
def app(engine: AsyncEngine, session: AsyncSession, test_settings: Settings) -> FastAPI:
    app = create_app(test_settings, database=Database(engine))

    async def test_session() -> AsyncIterator[AsyncSession]:
        # The test's stand-in for the server's sequencer (which cannot see this
        # uncommitted transaction): each request starts with everything before it
        # sequenced, as a request a second after a write would.
        await sequencer.sequence_pending(session)
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client


# Keys of each role, as Authorization headers.


@pytest.fixture
async def regulator(session: AsyncSession) -> dict[str, str]:
    return await make_key(session, "regulator")


@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await make_key(session, "admin")


@pytest.fixture
async def partner(session: AsyncSession) -> dict[str, str]:
    return await make_key(session, "partner")


@pytest.fixture
async def committed_client(
    engine: AsyncEngine, owner_engine: AsyncEngine, test_settings: Settings
) -> AsyncIterator[AsyncClient]:
    """A client whose requests commit for real (for concurrency tests); every
    table is emptied afterwards by the owner, with the append-only triggers off."""
    app = create_app(test_settings, database=Database(engine))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
    async with owner_engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = await conn.scalars(
            text(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        )
        names = ", ".join(f'"{t}"' for t in tables)
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))


# scripts/mutation: the same examples on every run, so a kill is repeatable, and few
# of them (each of ~700 mutants runs the properties again).
hypothesis_settings.register_profile("mutation", derandomize=True, database=None, max_examples=20)
