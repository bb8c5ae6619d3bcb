"""Past publications after a violation's period ends (SPEC §4.1): the publication
stays immutable; on read, an entry line naming a violation no longer public on
the day of the read (under the policy version in force that day) is served as
`{"redacted": true, "line_sha256"}`, the publication is marked `redacted`, and
`line_hashes` — the SHA-256 of each line as first published (its UTF-8 bytes,
without the newline), in order — let anyone check every remaining line, while
`sha256` still verifies a copy taken before the redaction."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from typing import Any

import orjson
from sqlalchemy import Select, and_, cast, column, func, not_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from app.core.clock import today
from app.core.database import Reader
from app.core.settings import get_settings
from app.lists import service
from app.lists.models import ListEntry, ListPublication
from app.records import service as record_service
from app.records.models import Violation


def max_age(publication: ListPublication, longest: int = 86400) -> int:
    """How long a cache may keep a publication as served: a black-list entry may be
    redacted from the next day on, so until the next midnight (QCR_TIMEZONE)."""
    if publication.kind != "black":
        return longest
    now = dt.datetime.now(get_settings().zone)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), now.tzinfo)
    return max(0, min(longest, int((midnight - now).total_seconds())))


def line_sha256(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def redacted_line(line: str) -> str:
    """What is served in place of a redacted entry line."""
    return orjson.dumps(
        {"line_sha256": line_sha256(line), "redacted": True}, option=orjson.OPT_SORT_KEYS
    ).decode()


def redacted_statement(publication: ListPublication, on: dt.date | None = None) -> Select[Any]:
    """The ordinals of a black-list publication's entries that name a violation past
    its period on `on` (today), under the version in force that day."""
    reasons = (
        func.jsonb_array_elements(cast(ListEntry.line, JSONB)["reasons"])
        .table_valued(column("value", JSONB))
        .lateral("reason")
    )
    return (
        select(ListEntry.ordinal)
        .distinct()
        .select_from(ListEntry)
        .join(reasons, true())
        .join(
            Violation,
            and_(
                Violation.authority == reasons.c.value["authority"].astext,
                Violation.case_no == reasons.c.value["case_no"].astext,
            ),
        )
        .where(
            ListEntry.kind == publication.kind,
            ListEntry.number == publication.number,
            not_(record_service.public_violation_clause(on or today())),
        )
    )


async def redacted_ordinals(
    session: Reader,
    publication: ListPublication,
    on: dt.date | None = None,
    among: Collection[int] | None = None,
) -> set[int]:
    """The entries of a black-list publication that name a violation past its period
    (only those among `among` when given)."""
    if publication.kind != "black" or (among is not None and not among):
        return set()
    statement = redacted_statement(publication, on)
    if among is not None:
        statement = statement.where(ListEntry.ordinal.in_(sorted(among)))
    return set((await session.scalars(statement)).all())


async def redacted_count(session: Reader, publication: ListPublication) -> int:
    if publication.kind != "black":
        return 0
    counted = select(func.count()).select_from(redacted_statement(publication).subquery())
    return int(await session.scalar(counted) or 0)


async def public_page(
    session: Reader,
    publication: ListPublication,
    limit: int,
    *,
    q: str | None = None,
    after: int | None = None,
    before: int | None = None,
    placeholders: bool = True,
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """`service.search_page` with the same read-time redaction as the API (SPEC §4.1):
    a search never finds a redacted entry (its name would say what may no longer be
    said); browsing shows `{"redacted": true, "line_sha256"}` in its place, or
    leaves it out without `placeholders`."""
    hidden = redacted_statement(publication) if publication.kind == "black" else None
    rows, more = await service.search_page(
        session,
        publication,
        q=q,
        after=after,
        before=before,
        limit=limit,
        hidden=hidden if q or not placeholders else None,
    )
    if q or not placeholders:
        return rows, more
    gone = await redacted_ordinals(session, publication, among=[n for n, _ in rows])
    if not gone:
        return rows, more
    found = await session.execute(
        select(ListEntry.ordinal, ListEntry.line).where(
            ListEntry.kind == publication.kind,
            ListEntry.number == publication.number,
            ListEntry.ordinal.in_(sorted(gone)),
        )
    )
    lines = {n: line for n, line in found}
    return [
        (n, orjson.loads(redacted_line(lines[n])) if n in gone else entry) for n, entry in rows
    ], more


async def line_hashes(session: Reader, publication: ListPublication) -> list[str]:
    return [
        line_sha256(line)
        async for _, _, line in service.iter_lines(session, publication.kind, publication.number)
    ]


async def marks(session: Reader, publication: ListPublication) -> tuple[set[int], dict[str, Any]]:
    """The redacted ordinals, and the fields a redacted publication adds."""
    redacted = await redacted_ordinals(session, publication)
    if not redacted:
        return redacted, {}
    return redacted, {"redacted": True, "line_hashes": await line_hashes(session, publication)}
