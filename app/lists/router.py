"""Red and black list publications: publish, list, read (JSON, CSV, JSON Lines),
latest, diff, Atom feed; and the public pages (app/lists/pages.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth import guards
from app.auth.dependencies import Caller, Idempotent, Regulator
from app.core import conditional
from app.core.clock import today
from app.core.database import DbSession, ReadSession
from app.core.errors import invalid
from app.core.idempotency import Created
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, created, responses
from app.core.settings import AppSettings
from app.core.types import trimmed
from app.lists import downloads, feed, pages, redaction, retractions, service
from app.lists.models import ListPublication
from app.lists.schemas import (
    DiffOut,
    PublicationCreate,
    PublicationOut,
    PublicationSummary,
)

router = APIRouter(tags=["lists"], route_class=AutoCommitRoute)

KindPath = Annotated[Literal["red", "black"], Path(description="`red` (红榜) or `black` (黑榜)")]
MAX_INT = 2**31 - 1  # the columns are 32-bit
NumberPath = Annotated[int, Path(ge=1, le=MAX_INT, description="publication number")]
FormatQuery = Annotated[
    Literal["json", "csv", "jsonl"] | None,
    Query(
        description="overrides `Accept`: `csv` (UTF-8 with BOM, the whole list) or `jsonl` "
        "(the published lines: `sha256sum` of it is the publication's `sha256`)"
    ),
]

_ENTRY_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": PublicationOut,
        "description": "The publication with one page of entries; or the whole list as CSV "
        "(`Accept: text/csv` or `?format=csv`) or JSON Lines",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/jsonl": {"schema": {"type": "string"}},
        },
    },
    304: {"description": "not modified (If-None-Match, If-Modified-Since)"},
}


def summary(publication: ListPublication) -> dict[str, Any]:
    return PublicationSummary.model_validate(publication).model_dump(mode="json")


def _cursor_int(cursor: str | None) -> int | None:
    """The one integer a cursor of ours holds (an ordinal, or a publication number)."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if not isinstance(key[0], int) or not 0 <= key[0] <= MAX_INT:
        raise invalid("cursor", "is not a cursor this service issued")
    return key[0]


async def _publication_body(
    session: ReadSession, publication: ListPublication, limit: int, cursor: str | None
) -> dict[str, Any]:
    lines, more = await service.entry_page(
        session, publication, after=_cursor_int(cursor) or 0, limit=limit
    )
    redacted, marks = await redaction.marks(session, publication)
    return (
        summary(publication)
        | marks
        | {
            "entries": {
                "items": [
                    orjson.loads(redaction.redacted_line(line) if n in redacted else line)
                    for n, line in lines
                ],
                "next_cursor": encode_cursor([more]) if more is not None else None,
            }
        }
    )


async def _read(
    request: Request,
    session: ReadSession,
    publication: ListPublication,
    limit: int,
    cursor: str | None,
    fmt: Literal["json", "csv", "jsonl"] | None,
    cache: str,
) -> Response:
    chosen = downloads.negotiate(request, fmt)
    if chosen != "json":
        redacted = await redaction.redacted_ordinals(session, publication)
        modified = _last_modified(publication, redacted)
        # The download is streamed: its ETag names what it is made of.
        parts = [publication.sha256.encode(), chosen.encode(), *(b"%d" % n for n in redacted)]
        etag = conditional.etag_of(*parts)
        headers = {"Cache-Control": cache, "Vary": "Accept"} | conditional.validators(
            etag, modified
        )
        if conditional.is_fresh(request, etag, modified):
            return Response(status_code=304, headers=headers)
        response: Response = downloads.stream(session, publication, chosen, redacted)
        response.headers.update(headers)
        if redacted:
            response.headers["X-Redacted-Count"] = str(len(redacted))
        return response
    body = await _publication_body(session, publication, limit, cursor)
    modified = _last_modified(publication, body.get("redacted"))
    headers = {"Cache-Control": cache, "Vary": "Accept"}
    return conditional.answer(
        request, orjson.dumps(body), "application/json", headers, last_modified=modified
    )


def _last_modified(publication: ListPublication, redacted: object) -> dt.datetime:
    """When a publication last changed as served: its publishing, or, once entries
    are redacted on read (a period ended), the start of today at the latest."""
    if not redacted:
        return publication.published_at
    start_of_today = dt.datetime.combine(today(), dt.time(), tzinfo=dt.UTC)
    return max(publication.published_at, start_of_today)


@router.post(
    "/v1/lists/{kind}/publications",
    **created(
        PublicationOut,
        401,
        403,
        409,
        422,
        description="Published",
        accepted="Four eyes (black list): the pending approval, with `Location`",
    ),
)
async def publish(
    kind: KindPath,
    body: PublicationCreate,
    session: DbSession,
    principal: Regulator,
    idempotency: Idempotent,
) -> Response:
    """Publish list `kind` now (or as of a past `as_of`) as its next numbered publication."""

    async def make() -> Created | Response:
        publication = await service.publish_list(
            session, principal, kind, as_of=body.as_of, note=body.note
        )
        if not isinstance(publication, ListPublication):  # four eyes: the pending approval
            return guards.accepted(publication)
        created = PublicationOut.model_validate(
            await _publication_body(session, publication, DEFAULT_LIMIT, None)
        )
        return Created(created, location=f"/v1/lists/{kind}/publications/{publication.number}")

    return await idempotency.create(make)


@router.get(
    "/v1/lists/{kind}/publications",
    response_class=Response,
    responses={
        200: {"model": Page[PublicationSummary], "description": "A page of publications"},
        304: {"description": "not modified (If-None-Match, If-Modified-Since)"},
        **responses(401, 422),
    },
)
async def list_publications(
    kind: KindPath,
    request: Request,
    session: ReadSession,
    _: Caller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Response:
    """Every publication of a kind, newest first, without entries (read one for them)."""
    before = _cursor_int(cursor)
    rows = await service.publications(session, kind, before=before, limit=limit + 1)
    items = [PublicationSummary.model_validate(r) for r in rows[:limit]]
    next_cursor = encode_cursor([items[-1].number]) if len(rows) > limit else None
    body = Page(items=items, next_cursor=next_cursor).model_dump_json().encode()
    modified = max((row.published_at for row in rows[:limit]), default=feed.EPOCH)
    headers = {"Cache-Control": "no-cache"}
    return conditional.answer(request, body, "application/json", headers, last_modified=modified)


@router.get(
    "/v1/lists/{kind}/publications/{number}",
    response_class=Response,
    responses={**_ENTRY_FORMATS, **responses(401, 404, 422)},
)
async def get_publication(
    kind: KindPath,
    number: NumberPath,
    request: Request,
    session: ReadSession,
    _: Caller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    format: FormatQuery = None,
) -> Response:
    """One publication, entries paginated in uscc order; CSV or JSON Lines: the whole list."""
    publication = await service.find(session, kind, number)
    # A publication never changes: caches may keep it — a black one only until the
    # next day, when an entry may be redacted (SPEC §4.1).
    cache = f"public, max-age={redaction.max_age(publication)}"
    return await _read(request, session, publication, limit, cursor, format, cache)


@router.get(
    "/v1/lists/{kind}/latest",
    response_class=Response,
    responses={**_ENTRY_FORMATS, **responses(401, 404, 422)},
)
async def get_latest(
    kind: KindPath,
    request: Request,
    session: ReadSession,
    _: Caller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    format: FormatQuery = None,
) -> Response:
    """The newest publication of a kind (as `GET …/publications/{number}`); 404 before the first."""
    publication = await service.latest(session, kind)
    response = await _read(request, session, publication, limit, cursor, format, "no-cache")
    response.headers["Content-Location"] = f"/v1/lists/{kind}/publications/{publication.number}"
    return response


@router.get(
    "/v1/lists/{kind}/publications/{number}/diff",
    response_class=StreamingResponse,
    responses={200: {"model": DiffOut, "description": "The diff"}, **responses(401, 404, 422)},
)
async def get_diff(
    kind: KindPath, number: NumberPath, session: ReadSession, _: Caller
) -> StreamingResponse:
    """Entries added, removed and changed against the previous publication (for the
    first, every entry is added). Changed: red, the grade; black, the reasons,
    `listed_since` or `expected_exit`. Each part in uscc order; streamed."""
    publication = await service.find(session, kind, number)
    previous = await service.previous_number(session, publication)
    # Lines naming a violation past its period are served redacted (SPEC §4.1), in
    # this publication and in the previous one alike.
    hidden = await redaction.redacted_ordinals(session, publication)
    hidden_before = (
        await redaction.redacted_ordinals(session, await service.find(session, kind, previous))
        if previous is not None
        else set()
    )

    def shown(line: str, ordinal: int, redacted: set[int]) -> str:
        return redaction.redacted_line(line) if ordinal in redacted else line

    async def body() -> AsyncIterator[bytes]:
        # The stored lines are JSON already: spliced in, not parsed and re-encoded.
        head = {"kind": kind, "number": number, "previous": previous}
        yield orjson.dumps(head)[:-1]
        for part in ("added", "removed", "changed"):
            items: list[str] = []
            yield f',"{part}":['.encode()
            async for row in service.diff_lines(session, publication, previous, part):
                if part == "changed":
                    ordinal, was, uscc, before, after = row
                    before, after = shown(before, was, hidden_before), shown(after, ordinal, hidden)
                    items.append(f'{{"uscc":"{uscc}","before":{before},"after":{after}}}')
                else:
                    ordinal, line = row
                    items.append(shown(line, ordinal, hidden if part == "added" else hidden_before))
                if len(items) == service.READ_BATCH:
                    yield (",".join(items) + ",").encode("utf-8")
                    items = []
            yield (",".join(items) + "]").encode("utf-8")
        yield b"}"

    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={"Cache-Control": f"public, max-age={redaction.max_age(publication)}"},
    )


@router.get(
    "/v1/lists/{kind}/feed.atom",
    response_class=Response,
    responses={
        200: {
            "description": "Atom feed of the latest 50 publications",
            "content": {feed.MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        304: {"description": "not modified (If-None-Match, If-Modified-Since)"},
        **responses(401, 422),
    },
)
async def get_feed(
    kind: KindPath, request: Request, session: ReadSession, settings: AppSettings, _: Caller
) -> Response:
    """An Atom feed of the kind's publications (the latest 50), for subscribers."""
    rows = await service.publications(session, kind, before=None, limit=50)
    body = feed.build(kind, rows, settings.public_base_url)
    modified = max((row.published_at for row in rows), default=feed.EPOCH)
    headers = {"Cache-Control": "no-cache"}
    return conditional.answer(request, body, feed.MEDIA_TYPE, headers, last_modified=modified)


router.include_router(pages.router)


class RetractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: Annotated[
        list[Annotated[str, StringConstraints(min_length=18, max_length=18)]],
        Field(min_length=1, max_length=retractions.MAX_RETRACTED),
    ]
    reason: Annotated[str, trimmed(min_length=1, max_length=4000)]


@router.post(
    "/v1/lists/{kind}/publications/{number}/retractions",
    **created(
        PublicationSummary,
        401,
        403,
        404,
        409,
        422,
        description="The correction publication",
        accepted="Four eyes: the pending approval, with `Location`",
    ),
)
async def retract_entries(
    kind: KindPath,
    number: NumberPath,
    body: RetractionCreate,
    session: DbSession,
    principal: Regulator,
) -> Response:
    """Retract wrongly listed entries (错误列入): the next publication corrects this one."""
    made = await retractions.retract(session, principal, kind, number, body.uscc, body.reason)
    if not isinstance(made, ListPublication):
        return guards.accepted(made)
    return Response(
        orjson.dumps(summary(made)),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/lists/{kind}/publications/{made.number}"},
    )
