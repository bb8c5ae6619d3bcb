"""Whole-publication downloads, streamed: CSV for spreadsheets and JSON Lines
for verification.

The CSV is UTF-8 with a byte order mark, so that Excel and WPS in a Chinese
locale open it as UTF-8. Its header row names the JSON fields. A black entry
gives one row per reason (the entry's own fields repeated), so every row stands
alone in a spreadsheet.

Names and summaries come from regulators and imports, and a spreadsheet runs a
cell that starts with `=`, `+`, `-`, `@`, a tab or a CR as a formula (CSV
injection, SPEC §8). Such a cell is written with one `'` in front, and so is a
cell that already starts with `'`, so that the rule can be undone exactly:
a cell that starts with `'` loses that first character (`csv_value`). Undone,
the rows rebuild the entries, whose canonical lines hash to the publication's
`sha256` (tests/lists/helpers.py `entries_from_csv` shows how).

The JSON Lines download is the published lines themselves: `sha256sum` of it is
the publication's `sha256`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import orjson
from fastapi import Request
from fastapi.responses import StreamingResponse

from app.core.database import Reader
from app.lists import redaction, service
from app.lists.models import ListPublication

Format = Literal["json", "csv", "jsonl"]
BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
JSONL_MEDIA_TYPE = "application/jsonl; charset=utf-8"
_MEDIA: dict[str, Format] = {
    "application/json": "json",
    "text/csv": "csv",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
}

RED_COLUMNS = ("uscc", "name", "grade", "region_code")
BLACK_COLUMNS = (
    "uscc",
    "name",
    "listed_since",
    "expected_exit",
    "case_no",
    "authority",
    "decided_on",
    "public_summary",
)


def negotiate(request: Request, explicit: Format | None) -> Format:
    """`?format=` if given, else the Accept media type with the highest q
    (JSON on a tie and by default)."""
    if explicit is not None:
        return explicit
    best: tuple[float, int, Format] = (0.0, 0, "json")
    for part in request.headers.get("accept", "").split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = _MEDIA.get(media.strip().lower())
        if fmt is not None and q > 0:
            rank = (q, 1 if fmt == "json" else 0, fmt)
            best = max(best, rank)
    return best[2]


def csv_columns(kind: str) -> tuple[str, ...]:
    return RED_COLUMNS if kind == "red" else BLACK_COLUMNS


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet will not run; null is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith((*FORMULA_TRIGGERS, "'")) else text


def csv_value(cell: str) -> str:
    """The value a CSV cell was written from (undoes `csv_cell`'s prefix)."""
    return cell[1:] if cell.startswith("'") else cell


def csv_rows(kind: str, entry: dict[str, Any]) -> list[list[str]]:
    """An entry's CSV rows (a black entry: one per reason), neutralised."""
    cell = csv_cell

    if kind == "red":
        return [[cell(entry[c]) for c in RED_COLUMNS]]
    own = [cell(entry[c]) for c in BLACK_COLUMNS[:4]]
    reasons = entry["reasons"] or [dict.fromkeys(BLACK_COLUMNS[4:])]
    return [own + [cell(r[c]) for c in BLACK_COLUMNS[4:]] for r in reasons]


def csv_text(kind: str, entries: Iterable[dict[str, Any]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(csv_columns(kind))
    for entry in entries:
        writer.writerows(csv_rows(kind, entry))
    return buffer.getvalue()


def filename(publication: ListPublication, extension: str) -> str:
    return f"{publication.kind}-list-{publication.number}.{extension}"


def stream(
    session: Reader,
    publication: ListPublication,
    fmt: Format,
    redacted: set[int] | frozenset[int] = frozenset(),
) -> StreamingResponse:
    """The whole publication as CSV or JSON Lines, read and sent a batch at a time;
    entries past their publication period redacted (SPEC §4.1)."""
    kind, number = publication.kind, publication.number

    async def batches() -> AsyncIterator[list[str]]:
        batch: list[str] = []
        async for ordinal, _, line in service.iter_lines(session, kind, number):
            batch.append(redaction.redacted_line(line) if ordinal in redacted else line)
            if len(batch) == service.READ_BATCH:
                yield batch
                batch = []
        yield batch

    async def body() -> AsyncIterator[bytes]:
        first = True
        async for lines in batches():
            if fmt == "csv":
                entries = (e for e in map(orjson.loads, lines) if not e.get("redacted"))
                text = csv_text(kind, entries, header=first)
                yield ((BOM if first else "") + text).encode("utf-8")
            else:
                yield "".join(line + "\n" for line in lines).encode("utf-8")
            first = False

    extension, media_type = ("csv", CSV_MEDIA_TYPE) if fmt == "csv" else ("jsonl", JSONL_MEDIA_TYPE)
    return StreamingResponse(
        body(),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename(publication, extension)}"',
            "X-Entry-Count": str(publication.entry_count),
            "X-Publication-SHA256": publication.sha256,
            "Cache-Control": "public, max-age=3600",
            "Vary": "Accept",
        },
    )
