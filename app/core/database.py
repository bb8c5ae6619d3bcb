"""Engines, sessions and the declarative base.

Two connection strings matter: the *owner* URL runs migrations (the schema belongs
to that role) and the *service* URL is what requests use. The service role may
only INSERT and SELECT audit rows and owns no table (SPEC §7). With no
DATABASE_URL both point at the embedded server: owner `postgres`, service `qcr_app`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, overload

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Select, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.core import embedded
from app.core.errors import NotFound, is_broken_connection
from app.core.handles import Handle
from app.core.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Result, ScalarResult
    from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams
    from sqlalchemy.orm._typing import OrmExecuteOptionsParameter
    from sqlalchemy.orm.interfaces import ORMOption
    from sqlalchemy.orm.session import _EntityBindKey, _PKIdentityArgument
    from sqlalchemy.sql.elements import TextClause
    from sqlalchemy.sql.selectable import CompoundSelect, TextualSelect
    from sqlalchemy.util.typing import TupleAny, TypeVarTuple, Unpack

    _Ts = TypeVarTuple("_Ts")
    # A statement that only reads (a text statement is trusted to be a query).
    Query = Select[Unpack[TupleAny]] | CompoundSelect[Unpack[TupleAny]] | TextClause | TextualSelect

_T = TypeVar("_T")
_O = TypeVar("_O", bound=object)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str
    service: str


EMBEDDED_DATABASE = "qcr"
SERVICE_ROLE = "qcr_service"  # created by the first migration too
BOOTSTRAP_LOCK_ID = 0x51C4_0003


def resolve_urls(settings: Settings, database: str = EMBEDDED_DATABASE) -> DatabaseUrls:
    """Where to connect: DATABASE_URL if set, else the embedded server (started here)."""
    if settings.database_url:
        owner = settings.migration_database_url or settings.database_url
        return DatabaseUrls(owner=owner, service=settings.database_url)
    socket_dir = embedded.start(settings.data_dir)
    return DatabaseUrls(
        owner=embedded.url(socket_dir, database),
        service=embedded.url(socket_dir, database, embedded.SERVICE_LOGIN),
    )


# A pooled connection idle for longer than this is pinged before it is handed out
# (one round trip, as `pool_pre_ping` would do for every checkout); one in steady
# use is not. A connection the server dropped since its last use then fails its
# first statement: SQLAlchemy invalidates the whole pool (every connection older
# than that failure reconnects at its next checkout) and the request answers 503
# with Retry-After (app/core/errors.py), which a client retries.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("checked_in", None)
        if since is None or time.monotonic() - since <= IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces it (and retries the checkout)
            raise DisconnectionError("an idle connection failed its ping") from exc
        if not alive:
            raise DisconnectionError("an idle connection failed its ping")

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def make_engine(url: str, settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=5,
        # Statements' parameters hold private data (legal representatives, internal
        # descriptions, complainants' contacts): never in a log line or an error text.
        hide_parameters=True,
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": "qcr",
                "statement_timeout": str(settings.statement_timeout_ms),
                "lock_timeout": "5000",
                "idle_in_transaction_session_timeout": "60000",
                "TimeZone": "UTC",
            },
        },
    )
    _ping_when_idle(engine)
    return engine


async def ensure_database(owner_url: str) -> None:
    """Create the database and the service login (a member of qcr_service) if missing."""
    from sqlalchemy.engine import make_url

    url = make_url(owner_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            # Roles are cluster-wide: serialise concurrent bootstraps (test workers).
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": BOOTSTRAP_LOCK_ID})
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            for role, options in ((SERVICE_ROLE, "NOLOGIN"), (embedded.SERVICE_LOGIN, "LOGIN")):
                # Role names are constants of this module, not input.
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                )
                if not exists:
                    await conn.execute(text(f"CREATE ROLE {role} {options}"))
            await conn.execute(text(f"GRANT {SERVICE_ROLE} TO {embedded.SERVICE_LOGIN}"))
    finally:
        await admin.dispose()


def prepare(
    settings: Settings, *, migrate: bool, database: str = EMBEDDED_DATABASE
) -> DatabaseUrls:
    """Resolve the URLs; on the embedded server create the database and logins;
    then (if asked) migrate to head as the owner, under the advisory lock."""
    from app.core import migrations

    urls = resolve_urls(settings, database)
    if not settings.database_url:
        asyncio.run(ensure_database(urls.owner))
    if migrate:
        migrations.upgrade(urls.owner)
    return urls


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+asyncpg://…`) as asyncpg's own DSN."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def make_fast_pool(url: str, settings: Settings) -> HotPool:
    """The hot paths' asyncpg pool on the read URL (replica or primary)."""
    import asyncpg
    import orjson

    dsn = asyncpg_dsn(url)

    async def json_codecs(connection: Any) -> None:
        # As SQLAlchemy's asyncpg dialect does: JSON in and out as Python values.
        for kind in ("json", "jsonb"):
            await connection.set_type_codec(
                kind,
                encoder=lambda v: orjson.dumps(v).decode(),
                decoder=orjson.loads,
                schema="pg_catalog",
            )

    pool = await asyncpg.create_pool(
        dsn,
        init=json_codecs,
        reset=_reset_unless_clean,
        min_size=1,
        max_size=settings.pool_size,
        timeout=5,
        command_timeout=settings.statement_timeout_ms / 1000,
        server_settings={
            "application_name": "qcr-fast",
            "statement_timeout": str(settings.statement_timeout_ms),
            "TimeZone": "UTC",
        },
    )
    return FastPool(pool, settings.pool_size)


# Set (in the releasing task's context) when the connection going back to the
# pool ran one statement that ended normally.
_CLEAN_RELEASE: ContextVar[bool] = ContextVar("clean_release", default=False)


async def _reset_unless_clean(connection: Any) -> None:
    """The hot pool's reset on release. asyncpg's default sends `RESET ALL`,
    `UNLISTEN *`, `CLOSE ALL` and unlocks advisory locks: one more round trip per
    request, as many as the request's own. A connection that ran one statement of
    `FastPool.fetchrow`/`fetch` to its end has none of that state, so it goes
    back as it is; any other (a statement cut short by a server shutdown, which
    can leave the driver mid-protocol; a caller of `acquire()`) gets the full
    reset, and one that fails it is closed by asyncpg, never pooled."""
    if _CLEAN_RELEASE.get() and not connection.is_in_transaction():
        return
    query = connection.get_reset_query()
    if query:
        await connection.execute(query)


class FastPool:
    """An asyncpg pool for one-statement hot reads: each call runs one prepared
    statement on a pooled connection and skips the reset round trip on release
    when the statement ended normally (`_reset_unless_clean`)."""

    def __init__(self, pool: Any, size: int) -> None:
        self._pool = pool
        # First come, first served. asyncpg's own wait for a free connection lets a
        # request that arrives just as one is released take it ahead of those
        # already waiting, who go to the back: with no reset round trip on release
        # that happens all the time, and the slowest lookups waited 3x longer
        # (p99 of the credit lookup under 64 clients: 275-300 ms against 95-105).
        self._turns = asyncio.Semaphore(size)

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self._one(lambda connection: connection.fetchrow(query, *args))

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._one(lambda connection: connection.fetch(query, *args))
        return rows

    async def _one(self, statement: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run one statement on a pooled connection, in turn; released without the
        reset round trip only if it ended normally."""
        async with self._turns, self._pool.acquire() as connection:
            result = await statement(connection)
            clean = _CLEAN_RELEASE.set(True)
        _CLEAN_RELEASE.reset(clean)
        return result

    def acquire(self) -> AbstractAsyncContextManager[Any]:
        """A connection for several statements (fully reset on release)."""
        acquired: AbstractAsyncContextManager[Any] = self._pool.acquire()
        return acquired

    async def close(self) -> None:
        await self._pool.close()


class HotPool(Protocol):
    """What the hot paths use of an `asyncpg.Pool`: one prepared statement a call."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def close(self) -> None: ...

    def acquire(self) -> AbstractAsyncContextManager[Any]: ...


class Database:
    """The engines and session factories of one running app: the primary, and
    optionally a read replica (DATABASE_READ_URL) for public and partner reads."""

    def __init__(
        self,
        engine: AsyncEngine,
        read_engine: AsyncEngine | None = None,
        fast_pool: HotPool | None = None,
        fast_write_pool: HotPool | None = None,
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine
        # An asyncpg pool for the hot read paths (credit lookups, key lookups):
        # one prepared statement, no ORM, no pre-ping round trip. None in tests,
        # whose reads must see their own uncommitted transaction.
        self.fast_pool = fast_pool
        # Single-statement hot writes (item scans) go to the primary.
        self.fast_write_pool = fast_write_pool or (fast_pool if read_engine is None else None)
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.read_sessionmaker = (
            async_sessionmaker(read_engine, expire_on_commit=False) if read_engine else None
        )

    @property
    def primary_pool(self) -> HotPool | None:
        """The hot paths' pool on the primary (key lookups, scan writes), or None (tests)."""
        return self.fast_write_pool

    @property
    def has_replica(self) -> bool:
        return self.read_engine is not None

    async def dispose(self) -> None:
        for pool in {id(p): p for p in (self.fast_pool, self.fast_write_pool) if p}.values():
            await pool.close()
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()


class Reader(Protocol):
    """What a route that only reads may do with its session: run queries (a
    `select`, a union, a text statement) and load rows, with SQLAlchemy's own
    signatures. No `add`, `delete`, `flush` or `commit`, no `insert`, `update`
    or `delete` statement, and no service that writes accepts one (they take an
    `AsyncSession`): a read route that reaches for a write fails the type check
    (tests/core/test_read_session_types.py). Every `AsyncSession` is a `Reader`,
    so a read helper serves writers too."""

    @overload
    async def execute(
        self,
        statement: Select[Unpack[_Ts]] | CompoundSelect[Unpack[_Ts]],
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> Result[Unpack[_Ts]]: ...

    @overload
    async def execute(
        self,
        statement: Query,
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> Result[Unpack[TupleAny]]: ...

    @overload
    async def scalar(
        self,
        statement: Select[_T] | CompoundSelect[_T],
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> _T | None: ...

    @overload
    async def scalar(
        self,
        statement: Query,
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> Any: ...

    @overload
    async def scalars(
        self,
        statement: Select[_T] | CompoundSelect[_T],
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> ScalarResult[_T]: ...

    @overload
    async def scalars(
        self,
        statement: Query,
        params: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: OrmExecuteOptionsParameter = ...,
    ) -> ScalarResult[Any]: ...

    async def connection(self) -> AsyncConnection:
        """The connection under the session (the hot reads' asyncpg driver)."""
        ...

    async def get(
        self,
        entity: _EntityBindKey[_O],
        ident: _PKIdentityArgument,
        *,
        options: Sequence[ORMOption] | None = None,
        populate_existing: bool | None = None,
    ) -> _O | None: ...


# The app's handles as typed dependencies: routes declare what they use
# (`Db`, `DbSession` to write, `ReadSession` or `PrimaryRead` to read) and never
# read `request.app.state` themselves.


DATABASE: Handle[Database] = Handle("database", Database)


def database_of(request: Request) -> Database:
    """The running app's engines, sessions and hot pools (bound in lifespan), for
    hot routes, which run no dependency."""
    return DATABASE.required(request)


async def get_database(request: Request) -> Database:
    return database_of(request)


Db = Annotated[Database, Depends(get_database)]


async def get_session(database: Db) -> AsyncIterator[AsyncSession]:
    """One session per request; rolled back on any exception (the route commits)."""
    async with database.sessionmaker() as session, discarding_broken(session):
        yield session


@asynccontextmanager
async def discarding_broken(session: AsyncSession) -> AsyncIterator[None]:
    """Roll the session back on any exception; when the exception says its
    connection is broken, discard the connection instead. A statement of the raw
    driver (hot paths) that a server shutdown cut short leaves SQLAlchemy thinking
    the connection fine, and the next request to check it out would fail on it."""
    try:
        yield
    except BaseException as exc:
        if is_broken_connection(exc):
            await session.invalidate()
        else:
            await session.rollback()
        raise


DbSession = Annotated[AsyncSession, Depends(get_session)]


async def get_read_session(database: Db, primary: DbSession) -> AsyncIterator[Reader]:
    """The replica's session for reads that may lag a little (public pages, credit
    lookups, batches, lists); without a replica, the request's primary session."""
    if database.read_sessionmaker is None:
        yield primary
        return
    async with database.read_sessionmaker() as session, discarding_broken(session):
        yield session


ReadSession = Annotated[Reader, Depends(get_read_session)]


async def get_primary_read(primary: DbSession) -> Reader:
    """The request's primary session, for reads that must not lag (a key just
    revoked, what this client wrote a moment ago), as a `Reader`."""
    return primary


PrimaryRead = Annotated[Reader, Depends(get_primary_read)]


async def one_or_404(
    session: Reader,
    statement: Select[_T],
    missing: str,
    *,
    for_update: bool = False,
    params: dict[str, Any] | None = None,
) -> _T:
    """The one row `statement` selects (with its bind `params`; locked for update
    if asked), else a 404 saying what is `missing`."""
    if for_update:
        statement = statement.with_for_update()
    found = await session.scalar(statement, params)
    if found is None:
        raise NotFound(missing)
    return found


async def db_now(session: Reader) -> dt.datetime:
    """The database's clock now (not the transaction's start): recording times
    must order the writes, which `known_at` time travel relies on. Read on the
    session's own connection by the driver (every write asks; through the
    session the statement cost 0.1 ms of CPU more)."""
    value: Any = await (await driver_of(session)).fetchval("SELECT clock_timestamp()")
    assert isinstance(value, dt.datetime)
    return value


async def driver_of(session: Reader) -> asyncpg.Connection:
    """The asyncpg connection under the session (hot reads, COPY; `fastpath.driver`).

    Statements on it join the session's transaction once SQLAlchemy has begun
    one; before that they run on their own (reads) or in an explicit
    `transaction()` (writes)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver_connection = raw.driver_connection
    assert isinstance(driver_connection, asyncpg.Connection)
    return driver_connection
