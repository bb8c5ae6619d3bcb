"""A route that only reads gets a `Reader` (app/core/database.py): a session that
runs queries and loads rows. Writing with it — `add`, `flush`, `commit`, an
`insert` or `update` statement, a service that writes — fails the type check."""

from __future__ import annotations

import inspect
import re
import textwrap
import typing
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from mypy import api as mypy_api

from app.core.database import DbSession, PrimaryRead, ReadSession

ROOT = Path(__file__).resolve().parents[2]

# Every line marked `# refused` must be a type error, and no other line may be.
SNIPPET = textwrap.dedent(
    """
    from sqlalchemy import insert, select, text, update
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.core.database import PrimaryRead, Reader, ReadSession
    from app.organizations.models import Organization


    async def write(session: AsyncSession) -> None: ...


    async def reads(session: ReadSession, primary: PrimaryRead) -> None:
        await session.execute(select(Organization.id))
        await session.scalar(select(Organization.uscc).limit(1))
        (await session.scalars(select(Organization))).all()
        await session.execute(text("SELECT 1"))
        await primary.get(Organization, 1)


    async def writes(session: ReadSession, primary: PrimaryRead, org: Organization) -> None:
        session.add(org)  # refused
        await session.flush()  # refused
        await session.commit()  # refused
        await session.delete(org)  # refused
        await primary.execute(insert(Organization).values(uscc="x"))  # refused
        await primary.execute(update(Organization).values(uscc="x"))  # refused
        await write(session)  # refused


    async def a_writer_reads_too(session: AsyncSession) -> Reader:
        return session
    """
)


def test_a_read_session_cannot_write(tmp_path: Path) -> None:
    snippet = tmp_path / "read_route.py"
    snippet.write_text(SNIPPET)
    expected = {
        n for n, line in enumerate(SNIPPET.splitlines(), start=1) if line.endswith("# refused")
    }
    out, err, _ = mypy_api.run(
        [
            "--strict",
            "--no-error-summary",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(snippet),
        ]
    )
    errors = {int(n) for n in re.findall(rf"{re.escape(snippet.name)}:(\d+): error", out)}
    assert errors == expected, out + err


def _writing_get_routes() -> dict[str, str]:
    # GET routes that write, and why (each takes `DbSession`).
    return {
        "/v1/audit/tree-head": "signs and stores the head of a size on first request",
        "/organizations/{code}": "stores a status recomputed past its edge (no replica)",
        "/console": "touches the console session",
        "/console/signals/{id}": "touches the console session",
        "/console/complaints/{id}": "touches the console session",
    }


def test_read_only_routes_take_a_reader(app: FastAPI) -> None:
    """Every GET route reads through `ReadSession` or `PrimaryRead`, except the few
    that write on a read (listed with their reason)."""
    write_session = typing.get_args(DbSession)[1]
    readers = {typing.get_args(a)[1] for a in (ReadSession, PrimaryRead)}
    writing = _writing_get_routes()
    seen: set[str] = set()
    for context in iter_route_contexts(app.routes):  # included routers, flattened
        route = context.original_route
        path = str(context.path_format or getattr(route, "path", ""))
        if not isinstance(route, APIRoute) or "GET" not in (context.methods or ()):
            continue
        endpoint = inspect.unwrap(route.endpoint)
        hints = typing.get_type_hints(endpoint, include_extras=True)
        marks = {
            m
            for h in hints.values()
            if typing.get_origin(h) is typing.Annotated
            for m in typing.get_args(h)[1:]
        }
        if write_session in marks:
            assert path in writing, f"GET {path} takes a write session"
            seen.add(path)
        else:
            assert path not in writing or not marks & readers, path
    assert seen == set(writing), "a listed route no longer writes: take it off the list"
