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
from typing import Any

from app.core import fastpath
from app.core.database import Reader
from app.core.errors import TYPE_BASE
from app.credit import service as credit_service

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
SELECT ({_FRESH}) AS fresh,
       json_build_object({_fields()}, 'known_at', NULL)::text AS body
FROM organizations o JOIN credit_status s ON s.organization_id = o.id
WHERE o.{column} = $1::text
"""  # noqa: S608


# The statements are assembled from constants of this module, never from input.
CURRENT_BY_USCC = _current_sql("uscc")
CURRENT_BY_ORG_CODE = _current_sql("org_code")

# $1 the codes as sent, $4 their normalised form (null: invalid), $5 the invalid
# ones' results, $6 results evaluated by the caller (null: use the stored status),
# $7 the problem type of "not found", $8 true when no stored status may be used.
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
            THEN json_build_object('code', w.raw, {_fields()}) END AS stored
    FROM wanted w LEFT JOIN credit_status s ON s.organization_id = w.id
)
SELECT
    json_agg(
        CASE
            WHEN invalid IS NOT NULL THEN invalid::json
            WHEN id IS NULL THEN json_build_object(
                'code', raw, 'error', json_build_object(
                    'type', $7::text, 'title', 'Not found', 'status', 404,
                    'detail', 'no organization with code ' || code))
            WHEN evaluated IS NOT NULL THEN evaluated::json
            WHEN stale THEN NULL
            ELSE stored
        END ORDER BY ord
    )::text AS body,
    coalesce(array_agg(ord) FILTER (WHERE stale), '{{}}') AS stale_positions,
    coalesce(array_agg(id) FILTER (WHERE stale), '{{}}') AS stale_ids,
    coalesce(array_agg(status) FILTER (WHERE stale), '{{}}') AS stale_statuses,
    coalesce(array_agg(uscc) FILTER (WHERE stale), '{{}}') AS stale_usccs
FROM joined
"""  # noqa: S608

NOT_FOUND_TYPE = TYPE_BASE + "not-found"


async def _driver(session: Reader | None, pool: Any) -> Any:
    if pool is not None:
        return pool
    assert session is not None, "a session or a pool is needed"
    return await fastpath.driver(session)


async def current(
    session: Reader | None, pool: Any, code: str, *, full: bool, on: dt.date
) -> tuple[bool, bytes] | None:
    """(fresh, the answer's JSON) of a normalised code's stored status; None when
    the code has no stored status. Not fresh: the caller evaluates it instead."""
    statement = CURRENT_BY_USCC if len(code) == 18 else CURRENT_BY_ORG_CODE
    row = await (await _driver(session, pool)).fetchrow(statement, code, full, on)
    if row is None:
        return None
    return bool(row["fresh"]), row["body"].encode()


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
) -> Any:
    """One row: `body` (the results array; null where a stale status still needs
    evaluating) and the stale entries' positions (1-based), ids, statuses and USCCs."""
    driver = await _driver(session, pool)
    return await driver.fetchrow(
        BATCH_SQL, raws, full, on, codes, invalid, evaluated, NOT_FOUND_TYPE, evaluate_all
    )
