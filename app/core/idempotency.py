"""`Idempotency-Key` on creating POSTs (SPEC §5).

The key row is inserted in the request's own transaction, before the write. A
concurrent request with the same key blocks on the primary key until the first
commits (then it replays the stored response) or rolls back (then it proceeds).
The response is stored in the same transaction as the record it describes, so a
key never points at a write that did not happen. Every exit settles the key
before the commit (`AutoCommitRoute` calls `settle`): a success stores its
response, any other answer removes the key, and an exception rolls it back.
Only a request that commits as it goes (a `mode=partial` import) leaves a key
without a response while it runs: the same key meanwhile is 409 with
Retry-After, never a 500, and an interrupted import gives its key up. Keys are
scoped per API key and kept at least 24 hours (`purge` drops those older than 48).

The fingerprint is the method, the path, the query (sorted) and the parsed body:
JSON compared as data, a multipart form by its fields and each file's name and
SHA-256 (a retry with a new boundary is the same request), other bodies as bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.formparsers import MultiPartException, MultiPartParser

from app.core.database import Base
from app.core.errors import Conflict, Unprocessable
from app.core.routing import Settles

ANONYMOUS_SCOPE = uuid.UUID(int=0)
KEEP = dt.timedelta(hours=48)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    media_type: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


def fingerprint(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> str:
    """The request's identity: method, path, sorted query and the body as data."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    head = orjson.dumps([method, path, sorted(query)])
    return hashlib.sha256(head + b"\n" + canonical).hexdigest()


async def canonical_body(headers: Mapping[str, str], body: bytes) -> bytes:
    """The body to fingerprint: a multipart form as its fields, files by name and
    SHA-256 (its boundary is random per attempt); anything else as it came."""
    if not body or not headers.get("content-type", "").startswith("multipart/form-data"):
        return body
    return await _multipart_canonical(headers, body) or body


async def _multipart_canonical(headers: Mapping[str, str], body: bytes) -> bytes | None:
    async def stream() -> AsyncIterator[bytes]:
        yield body

    parser = MultiPartParser(headers, stream(), max_files=20, max_fields=200)  # type: ignore[arg-type]
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError):
        return None
    fields: list[list[str]] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.append([name, "field", value])
            else:
                digest = hashlib.sha256(await value.read()).hexdigest()
                fields.append([name, "file", value.filename or "", digest])
    finally:
        await form.close()
    return orjson.dumps(sorted(fields))


@dataclass(frozen=True)
class Created:
    """What a creating request answers: the object, its address, its status."""

    body: BaseModel
    location: str | None = None
    status_code: int = 201


class Idempotency(Settles):
    """One request's view of its Idempotency-Key (or of its absence)."""

    def __init__(self, session: AsyncSession, scope: uuid.UUID, key: str | None, print_: str):
        self.session = session
        self.scope = scope
        self.key = key
        self.fingerprint = print_
        self.claimed = False  # this request inserted the key row
        self.stored = False  # and stored its response there

    async def create(self, make: Callable[[], Awaitable[Created | Response]]) -> Response:
        """Answer a creating request once: the first response to this key again, or
        `make()` run now and its answer remembered under the key. A response that
        `make()` gives instead of a creation (a refusal) is passed on and not
        remembered, so a retry with the same key runs again."""
        if (replay := await self.replay()) is not None:
            return replay
        created = await make()
        if isinstance(created, Response):
            await self.settle(created)
            return created
        return await self.respond(
            created.body, status_code=created.status_code, location=created.location
        )

    async def replay(self) -> Response | None:
        """The first response to this key, or None when this request should proceed."""
        if self.key is None:
            return None
        inserted = await self.session.scalar(
            insert(IdempotencyRecord)
            .values(scope=self.scope, key=self.key, fingerprint=self.fingerprint)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if inserted is not None:
            self.claimed, self.stored = True, False  # a retried attempt claims afresh
            return None
        stored = await self.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
            )
        )
        if stored is None or stored.status_code is None:
            # A `mode=partial` import commits the key with its first chunk, before
            # its response exists: a retry meanwhile is told to wait.
            raise Conflict(
                "a request with this Idempotency-Key has not finished; retry later",
                errors=[{"field": "Idempotency-Key", "message": "no response stored yet"}],
                headers={"Retry-After": "1"},
            )
        if stored.fingerprint != self.fingerprint:
            raise Unprocessable(
                "this Idempotency-Key was used with another request",
                errors=[
                    {
                        "field": "Idempotency-Key",
                        "message": "reused with a different method, path, query or body",
                    }
                ],
            )
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.media_type,
            headers=dict(stored.headers or {}) | {"Idempotent-Replayed": "true"},
        )

    async def respond(
        self, model: BaseModel, *, status_code: int = 201, location: str | None = None
    ) -> Response:
        """Serialise the created object, remember the response under the key, return it."""
        body = model.model_dump_json().encode()
        headers = {"Location": location} if location else {}
        response = Response(
            body, status_code=status_code, media_type="application/json", headers=headers
        )
        await self.settle(response)
        return response

    async def settle(self, result: object) -> None:
        """Before the commit: keep a successful response under the key, or drop the key."""
        if not self.claimed or self.stored:
            return
        where = (IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key)
        if isinstance(result, Response) and 200 <= result.status_code < 300:
            headers = (
                {"Location": result.headers["location"]} if "location" in result.headers else {}
            )
            await self.session.execute(
                update(IdempotencyRecord)
                .where(*where)
                .values(
                    status_code=result.status_code,
                    body=bytes(result.body),
                    media_type=result.media_type,
                    headers=headers,
                )
            )
            self.stored = True
        else:
            await self.session.execute(delete(IdempotencyRecord).where(*where))
            self.claimed = False


async def purge(session: AsyncSession) -> int:
    """Forget keys older than 48 hours."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < func.now() - KEEP)
    )
    return int(getattr(result, "rowcount", 0) or 0)
