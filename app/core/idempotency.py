"""`Idempotency-Key` on creating POSTs (SPEC §5).

The key row is inserted in the request's own transaction, before the write. A
concurrent request with the same key blocks on the primary key until the first
commits (then it replays the stored response) or rolls back (then it proceeds).
The response is stored in the same transaction as the record it describes, so a
key never points at a write that did not happen. Keys are scoped per API key
and kept at least 24 hours (`purge` drops those older than 48).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.errors import Unprocessable

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


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request's identity: JSON bodies compared as data, others as bytes."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True)
class Created:
    """What a creating request answers: the object, its address, its status."""

    body: BaseModel
    location: str | None = None
    status_code: int = 201


class Idempotency:
    """One request's view of its Idempotency-Key (or of its absence)."""

    def __init__(self, session: AsyncSession, scope: uuid.UUID, key: str | None, print_: str):
        self.session = session
        self.scope = scope
        self.key = key
        self.fingerprint = print_

    async def create(self, make: Callable[[], Awaitable[Created | Response]]) -> Response:
        """Answer a creating request once: the first response to this key again, or
        `make()` run now and its answer remembered under the key. A response that
        `make()` gives instead of a creation (a refusal) is passed on and not
        remembered, so a retry with the same key runs again."""
        if (replay := await self.replay()) is not None:
            return replay
        created = await make()
        if isinstance(created, Response):
            await self.forget()
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
            return None
        stored = await self.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
            )
        )
        assert stored is not None and stored.status_code is not None
        if stored.fingerprint != self.fingerprint:
            raise Unprocessable(
                "this Idempotency-Key was used with another request body",
                errors=[{"field": "Idempotency-Key", "message": "reused with a different body"}],
            )
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.media_type,
            headers=dict(stored.headers or {}) | {"Idempotent-Replayed": "true"},
        )

    async def forget(self) -> None:
        if self.key is not None:
            await self.session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
                )
            )

    async def respond(
        self, model: BaseModel, *, status_code: int = 201, location: str | None = None
    ) -> Response:
        """Serialise the created object, remember the response under the key, return it."""
        body = model.model_dump_json().encode()
        headers = {"Location": location} if location else {}
        if self.key is not None:
            record = await self.session.get(IdempotencyRecord, (self.scope, self.key))
            assert record is not None
            record.status_code = status_code
            record.body = body
            record.media_type = "application/json"
            record.headers = headers
            await self.session.flush()
        return Response(
            body, status_code=status_code, media_type="application/json", headers=headers
        )


async def purge(session: AsyncSession) -> int:
    """Forget keys older than 48 hours."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < func.now() - KEEP)
    )
    return int(getattr(result, "rowcount", 0) or 0)
