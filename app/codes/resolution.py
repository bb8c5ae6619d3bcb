"""What a scanned code resolves to: the batch-level document, cached.

The hot path of the public resolver (STYLE "Hot paths"): product, producer,
batch, the producer's materialised credit (its stored public reasons),
ongoing recalls for the GTIN and lot, supervisory inspections and the feedback
aggregate come back in one row from one prepared asyncpg statement, and are
kept in an in-process cache invalidated by change notifications (`cache`).
The item's own counters are read per scan (app/codes/scans.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import digital_link
from app.codes.digital_link import DigitalLinkPath
from app.core.clock import today
from app.core.handles import Handle
from app.core.notify import Watch
from app.core.watched import WatchedCache
from app.credit import service as credit_service
from app.organizations import notify as organization_notify
from app.organizations.models import Organization

INSPECTIONS_SHOWN = 20

LOOKUP = """
SELECT
    p.id AS product_id, p.gtin, p.name, p.model, p.execution_standard,
    p.factory_name, p.factory_address,
    o.id AS organization_id, o.uscc, o.name AS producer_name,
    o.address AS producer_address, o.region_code, o.status AS producer_status,
    b.id AS batch_id, b.lot, b.produced_on, b.expires_on, b.inspection_reports,
    c.grade, c.a_level, c.red_list, c.black_list, c.listed_since, c.expected_exit,
    c.holds_until, c.public_until, c.public_reasons, c.policy_version, c.as_of,
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
            LIMIT $3::int
        ) AS x
    ), '[]'::jsonb) AS inspections
FROM products p
JOIN organizations o ON o.id = p.organization_id
LEFT JOIN credit_status c ON c.organization_id = o.id
LEFT JOIN batches b ON b.product_id = p.id AND b.lot = $2::text
CROSS JOIN LATERAL (
    SELECT count(*) AS feedback_count, avg(fb.rating)::float8 AS feedback_average
    FROM feedback fb WHERE fb.product_id = p.id
) AS f
WHERE p.gtin = $1::text
"""


class UnknownCode(LookupError):
    """No product or batch is registered under this code."""


@dataclass(frozen=True)
class BatchDocument:
    """What every scan of a product or batch code shares (the cached part)."""

    organization_id: uuid.UUID
    product_id: uuid.UUID
    batch_id: uuid.UUID | None
    gtin: str
    lot: str | None
    parts: dict[str, Any]  # product, producer, batch, credit, recalls, feedback
    # The JSON answer around its item, encoded once per cached document:
    # `json_head + item + json_tail` is `orjson.dumps(document(parts, item))`.
    json_head: bytes
    json_tail: bytes
    # The page rendered once per kind (app/codes/resolver.py `_page`), by its kind.
    pages: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False)

    def json(self, item: dict[str, Any] | None) -> bytes:
        """The resolver's JSON answer (`document`) with this item, as bytes."""
        return self.json_head + orjson.dumps(item) + self.json_tail


def cache(watch: Watch) -> WatchedCache[tuple[str, str | None], BatchDocument]:
    """Batch-level documents by (GTIN-14, lot), tagged with the producer's id:
    whatever changes an organization's credit, records, products, batches,
    recalls or feedback notifies `organization` with its id (app/core/watched.py
    states the staleness: within 1 s of the commit on every process)."""
    return WatchedCache(watch, TOPIC, ttl=CACHE_TTL_SECONDS, max_entries=CACHE_ENTRIES)


# Bound by the serving app's lifespan; none in tests (every resolution is a read).
CACHE: Handle[WatchedCache[tuple[str, str | None], BatchDocument]] = Handle(
    "resolver_cache", WatchedCache
)

TOPIC = organization_notify.TOPIC
CACHE_TTL_SECONDS = 300.0
CACHE_ENTRIES = 50_000


SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def load(
    driver: Any, code: DigitalLinkPath, *, base: str, session: SessionOpener, store: bool
) -> BatchDocument:
    """Load the batch-level document in one statement; UnknownCode if the product
    or the batch is not registered. `session` opens one for a status past its edge."""
    row = await driver.fetchrow(LOOKUP, code.gtin14, code.lot, INSPECTIONS_SHOWN)
    if row is None or (code.lot and row["batch_id"] is None):
        raise UnknownCode(code)
    credit = await _credit(session, row, store=store)
    parts = _parts(row, credit, code, base)
    head, tail = _around_item(parts)
    return BatchDocument(
        organization_id=row["organization_id"],
        product_id=row["product_id"],
        batch_id=row["batch_id"],
        gtin=row["gtin"],
        lot=row["lot"] if code.lot else None,
        parts=parts,
        json_head=head,
        json_tail=tail,
    )


def _around_item(parts: dict[str, Any]) -> tuple[bytes, bytes]:
    """The document's JSON (`document`'s keys, in its order) before and after its
    item's value."""
    before = {k: parts[k] for k in ("product", "producer", "batch", "credit", "recalls")}
    head = orjson.dumps(before)[:-1] + b',"item":'
    return head, b',"feedback":' + orjson.dumps(parts["feedback"]) + b"}"


_CREDIT = (
    "grade",
    "a_level",
    "red_list",
    "black_list",
    "listed_since",
    "expected_exit",
    "policy_version",
    "as_of",
)


async def _credit(session: SessionOpener, row: Any, *, store: bool) -> dict[str, Any]:
    on = today()
    stale = row["grade"] is None or credit_service.past_edge(row["holds_until"], on)
    if not stale and not credit_service.public_is_stale(row["public_until"], on):
        return {f: row[f] for f in _CREDIT} | {"reasons": row["public_reasons"]}
    # Past an edge (a window or a publication period ended since the last write):
    # evaluated, as the credit endpoint does. Rare: the daily refresh gets there first.
    async with session() as opened:
        org = await opened.get(Organization, row["organization_id"])
        assert org is not None
        status = await credit_service.current_for_read(opened, org, store=opened if store else None)
    values = {f: getattr(status, f) for f in _CREDIT}
    return values | {"reasons": credit_service.public_reasons(status.reasons, on)}


def _parts(row: Any, credit: dict[str, Any], code: DigitalLinkPath, base: str) -> dict[str, Any]:
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
        "feedback": {
            "count": count,
            "average": round(float(average), 2) if count and average is not None else None,
        },
    }


def document(parts: dict[str, Any], item: dict[str, Any] | None) -> dict[str, Any]:
    """The resolver's JSON: exactly product, producer, batch, credit, recalls, item, feedback."""
    return {
        "product": parts["product"],
        "producer": parts["producer"],
        "batch": parts["batch"],
        "credit": parts["credit"],
        "recalls": parts["recalls"],
        "item": item,
        "feedback": parts["feedback"],
    }


def first_scan_local(value: dt.datetime | None, zone: Any) -> str | None:
    """A scan time as the page shows it: minutes, in the registry's time zone."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else None
