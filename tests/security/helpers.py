"""Shared plumbing of the security tests: state snapshots and table cleanup."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


@dataclass(frozen=True)
class State:
    counts: dict[str, int]
    audit_head: tuple[int, str] | None


async def snapshot(session: AsyncSession) -> State:
    """Row counts of every table and the audit chain head."""
    tables = (
        await session.scalars(
            text(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY 1"
            )
        )
    ).all()
    counts = {}
    for table in tables:  # names from the catalog, not from input
        counts[table] = int(await session.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)
    head = (
        await session.execute(
            text(
                "SELECT id, encode(sha256(leaf), 'hex') FROM audit_entries ORDER BY id DESC LIMIT 1"
            )
        )
    ).first()
    return State(counts, (int(head[0]), str(head[1])) if head else None)


async def empty_all_tables(owner_url: str) -> None:
    """What committed tests leave behind, removed by the owner with the
    append-only triggers off (as `committed_client` does)."""
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            tables = (
                await conn.scalars(
                    text(
                        "SELECT tablename FROM pg_tables "
                        "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            ).all()
            names = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class DocumentedOperation:
    method: str  # upper case
    path: str  # the OpenAPI template
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def roles(self) -> frozenset[str] | None:
        """The roles admitted (`x-roles`), or None for a public operation."""
        roles = self.spec.get("x-roles")
        return frozenset(roles) if roles is not None else None

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The OpenAPI document of the app as built now (no database needed)."""
    from app.core.settings import Settings
    from app.main import create_app

    return create_app(Settings(QCR_CODE_SECRET="document-only-secret-0123")).openapi()


def operations() -> list[DocumentedOperation]:
    return [
        DocumentedOperation(method.upper(), path, spec)
        for path, item in document()["paths"].items()
        for method, spec in item.items()
        if method in ("get", "put", "post", "patch", "delete", "head")
    ]
