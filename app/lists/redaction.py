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
from typing import Any

import orjson
from sqlalchemy import and_, cast, column, func, not_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from app.core.clock import today
from app.core.database import Reader
from app.lists import service
from app.lists.models import ListEntry, ListPublication
from app.records import service as record_service
from app.records.models import Violation


def line_sha256(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def redacted_line(line: str) -> str:
    """What is served in place of a redacted entry line."""
    return orjson.dumps(
        {"line_sha256": line_sha256(line), "redacted": True}, option=orjson.OPT_SORT_KEYS
    ).decode()


async def redacted_ordinals(
    session: Reader, publication: ListPublication, on: dt.date | None = None
) -> set[int]:
    """The entries of a black-list publication that name a violation past its period."""
    if publication.kind != "black":
        return set()
    reasons = (
        func.jsonb_array_elements(cast(ListEntry.line, JSONB)["reasons"])
        .table_valued(column("value", JSONB))
        .lateral("reason")
    )
    statement = (
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
    return set((await session.scalars(statement)).all())


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
