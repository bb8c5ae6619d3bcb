"""Credit answers built by PostgreSQL from the stored statuses (STYLE "Hot paths").

The current credit of one code, and a batch of up to 1000, come back from one
prepared statement as the JSON text of the answer: the stored public reasons
(or, for regulators, the full ones) are spliced in by the database, so Python
neither decodes nor re-encodes a reason list. The fields are
`credit_service.CREDIT_FIELDS`, the same list the evaluated answers use.

A status past its edge (`holds_until` or `public_until` before today) is not
answered here: the caller evaluates it (app/credit/lookup.py), and for a batch
passes the evaluated JSON back in, so that the batch is still assembled, in
request order, by one `json_agg`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from app.core import fastpath
from app.core.database import Reader
from app.core.errors import TYPE_BASE
from app.core.handles import Handle
from app.core.notify import Watch
from app.core.watched import WatchedCache
from app.credit import service as credit_service
from app.organizations import notify as organization_notify

# Regulators see every reason, without the internal `published_until`.
_FULL_REASONS = (
    "(SELECT coalesce(jsonb_agg(r - 'published_until' ORDER BY n), '[]'::jsonb)"
    " FROM jsonb_array_elements(s.reasons) WITH ORDINALITY AS x(r, n))"
)


def _fields() -> str:
    reasons = f"CASE WHEN $2::bool THEN {_FULL_REASONS} ELSE s.public_reasons END"
    return ", ".join(
        f"'{f}', " + (reasons if f == "reasons" else f"s.{f}") for f in credit_service.CREDIT_FIELDS
    )


_FRESH = (
    "(s.holds_until IS NULL OR s.holds_until >= $3::date)"
    " AND (s.public_until IS NULL OR s.public_until >= $3::date)"
)


def _current_sql(column: str) -> str:
    # One statement per kind of code: with `CASE WHEN length($1) = 18 ...` in the
    # WHERE clause the generic plan scanned both tables (160 ms on 100,000
    # organizations), so PostgreSQL planned the statement again at every call.
    return f"""
SELECT ({_FRESH}) AS fresh, o.id AS organization_id,
       json_build_object({_fields()})::text AS fields
FROM organizations o JOIN credit_status s ON s.organization_id = o.id
WHERE o.{column} = $1::text
"""  # noqa: S608


# The statements are assembled from constants of this module, never from input.
CURRENT_BY_USCC = _current_sql("uscc")
CURRENT_BY_ORG_CODE = _current_sql("org_code")

# $1 the codes as sent, $4 their normalised form (null: invalid), $5 the invalid
# ones' results, $6 results evaluated by the caller (null: use the stored status),
# $7 the problem type of "not found", $8 true when no stored status may be used,
# $9 true to have the stored answers used back (`fresh_*`, for the answer cache).
# The results array is joined as text: each entry is JSON already.
_CACHEABLE = (
    "$9::bool AND NOT stale AND fields IS NOT NULL AND invalid IS NULL AND evaluated IS NULL"
)
BATCH_SQL = f"""
WITH wanted AS (
    SELECT w.ord, w.raw, w.code, w.invalid, w.evaluated, o.id, o.uscc, o.status
    FROM unnest($1::text[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS w(raw, code, invalid, evaluated, ord)
    LEFT JOIN LATERAL (
        SELECT o.id, o.uscc, o.status FROM organizations o
        WHERE length(w.code) = 18 AND o.uscc = w.code
        UNION ALL
        SELECT o.id, o.uscc, o.status FROM organizations o
        WHERE length(w.code) = 9 AND o.org_code = w.code
        LIMIT 1
    ) o ON true
), joined AS (
    SELECT w.*,
        w.id IS NOT NULL AND w.invalid IS NULL AND w.evaluated IS NULL
            AND ($8::bool OR s.organization_id IS NULL OR NOT ({_FRESH})) AS stale,
        CASE WHEN s.organization_id IS NOT NULL
            THEN json_build_object({_fields()})::text END AS fields
    FROM wanted w LEFT JOIN credit_status s ON s.organization_id = w.id
)
SELECT
    coalesce('[' || string_agg(
        CASE
            WHEN invalid IS NOT NULL THEN invalid
            WHEN id IS NULL THEN json_build_object(
                'code', raw, 'error', json_build_object(
                    'type', $7::text, 'title', 'Not found', 'status', 404,
                    'detail', 'no organization with code ' || code))::text
            WHEN evaluated IS NOT NULL THEN evaluated
            WHEN stale THEN 'null'
            ELSE '{{"code" : ' || to_json(raw)::text || ', ' || substr(fields, 2)
        END, ', ' ORDER BY ord
    ) || ']', '[]') AS body,
    coalesce(array_agg(ord) FILTER (WHERE stale), '{{}}') AS stale_positions,
    coalesce(array_agg(id) FILTER (WHERE stale), '{{}}') AS stale_ids,
    coalesce(array_agg(status) FILTER (WHERE stale), '{{}}') AS stale_statuses,
    coalesce(array_agg(uscc) FILTER (WHERE stale), '{{}}') AS stale_usccs,
    coalesce(array_agg(code) FILTER (WHERE {_CACHEABLE}), '{{}}') AS fresh_codes,
    coalesce(array_agg(fields) FILTER (WHERE {_CACHEABLE}), '{{}}') AS fresh_fields,
    coalesce(array_agg(id) FILTER (WHERE {_CACHEABLE}), '{{}}') AS fresh_ids
FROM joined
"""  # noqa: S608

NOT_FOUND_TYPE = TYPE_BASE + "not-found"


async def _driver(session: Reader | None, pool: Any) -> Any:
    if pool is not None:
        return pool
    assert session is not None, "a session or a pool is needed"
    return await fastpath.driver(session)


@dataclass(frozen=True)
class Stored:
    """A code's stored status as answer text: `fields` is the JSON object of the
    credit fields (what the answer cache keeps)."""

    fresh: bool  # within its edges today; else the caller evaluates it
    organization_id: uuid.UUID
    fields: bytes


def single(fields: bytes) -> bytes:
    """The answer of one lookup, from the stored fields."""
    return b"{" + fields[1:-1] + b', "known_at" : null}'


def entry(raw: str, fields: bytes) -> bytes:
    """A batch's entry for the code as sent, from the stored fields (as BATCH_SQL
    writes it)."""
    return b'{"code" : ' + orjson.dumps(raw) + b", " + fields[1:]


async def current(
    session: Reader | None, pool: Any, code: str, *, full: bool, on: dt.date
) -> Stored | None:
    """A normalised code's stored status; None when the code has none."""
    statement = CURRENT_BY_USCC if len(code) == 18 else CURRENT_BY_ORG_CODE
    row = await (await _driver(session, pool)).fetchrow(statement, code, full, on)
    if row is None:
        return None
    return Stored(bool(row["fresh"]), row["organization_id"], row["fields"].encode())


def cache(watch: Watch) -> WatchedCache[str, bytes]:
    """Public stored answers' fields by normalised code, tagged with the
    organization: whatever changes an organization's credit notifies it (the
    staleness of app/core/watched.py: within 1 s of the commit on every process;
    none from another day, when windows and publication periods move)."""
    return WatchedCache(
        watch, organization_notify.TOPIC, ttl=CACHE_TTL_SECONDS, max_entries=CACHE_ENTRIES
    )


# Bound by the serving app's lifespan; none in tests (every lookup is a read).
CACHE: Handle[WatchedCache[str, bytes]] = Handle("credit_answer_cache", WatchedCache)
CACHE_TTL_SECONDS = 300.0
CACHE_ENTRIES = 200_000  # about 600 bytes each


async def batch(
    session: Reader | None,
    pool: Any,
    raws: list[str],
    codes: list[str | None],
    invalid: list[str | None],
    evaluated: list[str | None],
    *,
    full: bool,
    on: dt.date,
    evaluate_all: bool = False,
    cacheable: bool = False,
) -> Any:
    """One row: `body` (the results array; null where a stale status still needs
    evaluating), the stale entries' positions (1-based), ids, statuses and USCCs,
    and (when `cacheable`) the fresh stored ones' codes, fields and organizations."""
    driver = await _driver(session, pool)
    return await driver.fetchrow(
        BATCH_SQL,
        raws,
        full,
        on,
        codes,
        invalid,
        evaluated,
        NOT_FOUND_TYPE,
        evaluate_all,
        cacheable,
    )
