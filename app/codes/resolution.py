"""What a scanned code resolves to: one prepared statement, then the scan.

The hot path of the public resolver (STYLE "Hot paths"): product, producer,
batch, item, the producer's materialised credit, ongoing recalls for the GTIN
and lot, supervisory inspections and the feedback aggregate come back in one
row from one asyncpg statement (prepared once per connection by asyncpg's
statement cache). An item scan is one more statement: an atomic increment, the
scan row and the distinct-client count together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import digital_link
from app.codes.digital_link import DigitalLinkPath
from app.core import fastpath
from app.core.clock import today
from app.credit import service as credit_service
from app.organizations.models import Organization

INSPECTIONS_SHOWN = 20

LOOKUP = """
SELECT
    p.id AS product_id, p.gtin, p.name, p.model, p.execution_standard,
    p.factory_name, p.factory_address,
    o.id AS organization_id, o.uscc, o.name AS producer_name,
    o.address AS producer_address, o.region_code, o.status AS producer_status,
    b.id AS batch_id, b.lot, b.produced_on, b.expires_on, b.inspection_reports,
    i.id AS item_id, i.scan_count, i.first_scanned_at,
    CASE WHEN i.id IS NULL THEN 0 ELSE (
        SELECT count(*) FROM (
            SELECT DISTINCT sc.client_hash FROM item_scans sc
            WHERE sc.item_id = i.id AND sc.agent <> 'bot' LIMIT $4::int
        ) AS seen
    ) END AS clients,
    c.grade, c.a_level, c.red_list, c.black_list, c.listed_since, c.expected_exit,
    c.holds_until, c.reasons, c.policy_version, c.as_of,
    f.feedback_count, f.feedback_average,
    coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'recall_no', r.recall_no, 'product_name', r.product_name, 'gtin', r.gtin,
            'lots', r.lots, 'initiated_on', r.initiated_on, 'kind', r.kind,
            'hazard_class', r.hazard_class, 'units', r.units, 'remedy', r.remedy,
            'status', r.status
        ) ORDER BY r.hazard_class, r.initiated_on DESC, r.recall_no)
        FROM recalls r
        WHERE r.gtin = p.gtin AND r.status = 'ongoing'
          AND ($2::text IS NULL OR r.lots IS NULL OR $2::text = ANY (r.lots))
    ), '[]'::jsonb) AS recalls,
    coalesce((
        SELECT jsonb_agg(x.doc ORDER BY x.inspected_on DESC, x.report_no)
        FROM (
            SELECT n.inspected_on, n.report_no, jsonb_build_object(
                'report_no', n.report_no, 'authority', n.authority,
                'inspected_on', n.inspected_on, 'product_name', n.product_name,
                'lot', n.lot, 'standard', n.standard, 'result', n.result,
                'failed_items', n.failed_items, 'rectified_on', n.rectified_on
            ) AS doc
            FROM inspections n
            WHERE n.gtin = p.gtin AND ($2::text IS NULL OR n.lot IS NULL OR n.lot = $2::text)
            ORDER BY n.inspected_on DESC, n.report_no
            LIMIT $5::int
        ) AS x
    ), '[]'::jsonb) AS inspections
FROM products p
JOIN organizations o ON o.id = p.organization_id
LEFT JOIN credit_status c ON c.organization_id = o.id
LEFT JOIN batches b ON b.product_id = p.id AND b.lot = $2::text
LEFT JOIN item_codes i ON i.batch_id = b.id AND i.serial = $3::text
CROSS JOIN LATERAL (
    SELECT count(*) AS feedback_count, avg(fb.rating)::float8 AS feedback_average
    FROM feedback fb WHERE fb.product_id = p.id
) AS f
WHERE p.gtin = $1::text
"""

# $4 is 1 for a counted scan, 0 for a bot's: the increment is atomic (the row
# lock of the UPDATE), so parallel scans never lose one. now() is the start of
# each scan's transaction, and a later-started one may take the lock first,
# hence least() (which skips a NULL). The sub-select cannot see the CTE's own
# insert, hence "other clients + this one".
SCAN = """
WITH bumped AS (
    UPDATE item_codes
    SET scan_count = scan_count + $4::int,
        first_scanned_at = CASE WHEN $4::int > 0
            THEN least(first_scanned_at, now()) ELSE first_scanned_at END
    WHERE id = $1
    RETURNING scan_count, first_scanned_at
), logged AS (
    INSERT INTO item_scans (item_id, client_hash, agent) VALUES ($1, $2, $3)
)
SELECT bumped.scan_count, bumped.first_scanned_at, (
    SELECT count(*) FROM (
        SELECT DISTINCT sc.client_hash FROM item_scans sc
        WHERE sc.item_id = $1 AND sc.agent <> 'bot' AND ($4::int = 0 OR sc.client_hash <> $2)
        LIMIT $5::int
    ) AS seen
) + $4::int AS clients
FROM bumped
"""


class UnknownCode(LookupError):
    """No product, batch or item is registered under this code."""


@dataclass
class Resolved:
    code: DigitalLinkPath
    product_id: uuid.UUID
    organization_id: uuid.UUID
    batch_id: uuid.UUID | None
    item_id: int | None
    document: dict[str, Any]


async def resolve(
    session: AsyncSession,
    code: DigitalLinkPath,
    *,
    base: str,
    threshold: int,
    store: bool = True,
    pool: Any = None,
) -> Resolved:
    """Load what the code names; UnknownCode if any level of it is not registered.
    One statement, on the hot paths' pool when there is one."""
    driver = pool if pool is not None else await fastpath.driver(session)
    row = await driver.fetchrow(
        LOOKUP, code.gtin14, code.lot, code.serial, threshold + 1, INSPECTIONS_SHOWN
    )
    if row is None or (code.lot and row["batch_id"] is None):
        raise UnknownCode(code)
    if code.serial and row["item_id"] is None:
        raise UnknownCode(code)
    credit = await _credit(session, row, store=store)
    return Resolved(
        code=code,
        product_id=row["product_id"],
        organization_id=row["organization_id"],
        batch_id=row["batch_id"],
        item_id=row["item_id"],
        document=document(row, credit, code, base, threshold),
    )


async def _credit(session: AsyncSession, row: Any, *, store: bool) -> dict[str, Any]:
    fields = (
        "grade",
        "a_level",
        "red_list",
        "black_list",
        "listed_since",
        "expected_exit",
        "policy_version",
        "as_of",
        "reasons",
    )
    on = today()
    if row["grade"] is None or credit_service.past_edge(row["holds_until"], on):
        # Stale (a window edge passed since the last write): recompute, as the
        # credit endpoint does. Rare; the daily refresh normally gets there first.
        org = await session.get(Organization, row["organization_id"])
        assert org is not None
        status = await credit_service.current_for_read(session, org, store=store)
        values = {f: getattr(status, f) for f in fields}
    else:
        values = {f: row[f] for f in fields}
    values["reasons"] = credit_service.public_reasons(values["reasons"] or [], on)
    return values


def document(
    row: Any, credit: dict[str, Any], code: DigitalLinkPath, base: str, threshold: int
) -> dict[str, Any]:
    """The resolver's JSON: exactly product, producer, batch, credit, recalls, item, feedback."""
    gtin = row["gtin"]
    batch = None
    if code.lot is not None:
        batch = {
            "lot": row["lot"],
            "produced_on": row["produced_on"],
            "expires_on": row["expires_on"],
            "inspection_reports": row["inspection_reports"],
            "uri": digital_link.batch_uri(base, gtin, row["lot"]),
        }
    item = None
    if code.serial is not None:
        item = {
            "serial": code.serial,
            "uri": digital_link.item_uri(base, gtin, row["lot"], code.serial),
            "scan_count": row["scan_count"],
            "first_scanned_at": row["first_scanned_at"],
            "suspicious": row["clients"] > threshold,
        }
    count = int(row["feedback_count"])
    average = row["feedback_average"]
    return {
        "product": {
            "gtin": gtin,
            "name": row["name"],
            "model": row["model"],
            "execution_standard": row["execution_standard"],
            "uri": digital_link.product_uri(base, gtin),
            "inspections": row["inspections"],
        },
        "producer": {
            "uscc": row["uscc"],
            "name": row["producer_name"],
            "address": row["producer_address"],
            "region_code": row["region_code"],
            "status": row["producer_status"],
            "factory_name": row["factory_name"],
            "factory_address": row["factory_address"],
        },
        "batch": batch,
        "credit": credit,
        "recalls": row["recalls"],
        "item": item,
        "feedback": {
            "count": count,
            "average": round(float(average), 2) if count and average is not None else None,
        },
    }


async def record_scan(
    session: AsyncSession,
    resolved: Resolved,
    *,
    client_hash: bytes,
    agent: str,
    threshold: int,
    pool: Any = None,
) -> None:
    """Count one scan of an item (bots are logged, not counted) and refresh the item view."""
    assert resolved.item_id is not None
    counted = 0 if agent == "bot" else 1
    args = (resolved.item_id, client_hash, agent, counted, threshold + 1)
    if pool is not None:  # one statement: atomic on its own
        row = await pool.fetchrow(SCAN, *args)
    else:
        driver = await fastpath.driver(session)
        # A savepoint inside the request's transaction, or a transaction of its own.
        async with driver.transaction():
            row = await driver.fetchrow(SCAN, *args)
    item = resolved.document["item"]
    item["scan_count"] = row["scan_count"]
    item["first_scanned_at"] = row["first_scanned_at"]
    item["suspicious"] = row["clients"] > threshold


def first_scan_local(value: dt.datetime | None, zone: Any) -> str | None:
    """A scan time as the page shows it: minutes, in the registry's time zone."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else None
