"""Registering products and batches, issuing item codes; every write audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.codes import digital_link, repository
from app.codes.models import Batch, CodeIssuance, Product
from app.codes.schemas import (
    BatchCreate,
    BatchOut,
    InspectionReport,
    IssuanceOut,
    ProductCreate,
    ProductOut,
)
from app.codes.serials import issue_serials
from app.core import fastpath
from app.core.database import Reader, db_now
from app.core.errors import Conflict, Forbidden, NotFound, invalid
from app.core.principal import Principal
from app.journal.leaf import jsonable
from app.organizations import notify as organization_notify
from app.organizations import service as organization_service
from app.organizations.industry import industry_class
from app.organizations.models import Organization

# A batch is a production run; ten million labels is far beyond any real one.
MAX_CODES_PER_BATCH = 10_000_000
CSV_CHUNK = 10_000
_UNIQUE_VIOLATION = "23505"


def product_view(product: Product, org: Organization, base: str) -> ProductOut:
    return ProductOut(
        id=product.id,
        gtin=product.gtin,
        uscc=org.uscc,
        producer_name=org.name,
        name=product.name,
        model=product.model,
        execution_standard=product.execution_standard,
        factory_name=product.factory_name,
        factory_address=product.factory_address,
        category=product.category or industry_class(org.industry_code),
        uri=digital_link.product_uri(base, product.gtin),
        created_at=product.created_at,
        created_by=product.created_by,
    )


def batch_view(batch: Batch, product: Product, base: str) -> BatchOut:
    return BatchOut(
        id=batch.id,
        gtin=product.gtin,
        lot=batch.lot,
        produced_on=batch.produced_on,
        expires_on=batch.expires_on,
        inspection_reports=[InspectionReport.model_validate(r) for r in batch.inspection_reports],
        code_count=batch.code_count,
        uri=digital_link.batch_uri(base, product.gtin, batch.lot),
        created_at=batch.created_at,
        created_by=batch.created_by,
    )


def _public(model: ProductOut | BatchOut) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(model.model_dump(exclude={"created_by"}))
    return data


async def _registered(
    session: AsyncSession,
    actor: Principal,
    org: Organization,
    entity: str,
    entity_id: str,
    view: ProductOut | BatchOut,
) -> None:
    """The tail of a registration: the organization's page changed, audit and event."""
    await organization_notify.changed(session, org.id)
    await journal.record(
        session,
        actor,
        action=f"{entity}.create",
        entity=entity,
        entity_id=entity_id,
        uscc=org.uscc,
        after=jsonable(view.model_dump()),
        event=(f"{entity}.registered", _public(view)),
    )


async def create_product(
    session: AsyncSession, actor: Principal, data: ProductCreate, base: str
) -> tuple[Product, Organization]:
    """Register a product of the producer `data.uscc` (an enterprise: its own only)."""
    if not (actor.is_regulator or actor.owns(data.uscc)):
        raise Forbidden("an enterprise key may only register its own organization's products")
    try:
        org = await organization_service.find(session, data.uscc)
    except NotFound:
        raise invalid("uscc", "no organization with this USCC is registered") from None
    if org.status != "active":
        raise invalid("uscc", "the organization is deregistered")
    existing = await session.scalar(select(Product.id).where(Product.gtin == data.gtin))
    if existing is not None:
        raise Conflict(f"a product with GTIN {data.gtin} is already registered")
    values = data.model_dump(exclude={"uscc"})
    product = Product(
        **values,
        organization_id=org.id,
        created_at=await db_now(session),
        created_by=actor.key_id,
    )
    session.add(product)
    await session.flush()
    await _registered(
        session, actor, org, "product", product.gtin, product_view(product, org, base)
    )
    return product, org


async def create_batch(
    session: AsyncSession,
    actor: Principal,
    product: Product,
    org: Organization,
    data: BatchCreate,
    base: str,
) -> Batch:
    """Register a batch (lot) of a product with its inspection reports."""
    existing = await session.scalar(
        select(Batch.id).where(Batch.product_id == product.id, Batch.lot == data.lot)
    )
    if existing is not None:
        raise Conflict(f"batch {data.lot!r} of product {product.gtin} is already registered")
    batch = Batch(
        product_id=product.id,
        lot=data.lot,
        produced_on=data.produced_on,
        expires_on=data.expires_on,
        inspection_reports=[r.model_dump(mode="json") for r in data.inspection_reports],
        code_count=0,
        created_at=await db_now(session),
        created_by=actor.key_id,
    )
    session.add(batch)
    await session.flush()
    await _registered(session, actor, org, "batch", str(batch.id), batch_view(batch, product, base))
    return batch


async def _copy_serials(driver: Any, batch: Batch, serials: list[str]) -> bool:
    """Bulk-insert serials with COPY in a savepoint; False on a (2^-65-rare) duplicate."""
    try:
        async with driver.transaction():
            await driver.copy_records_to_table(
                "item_codes",
                records=[(batch.id, serial) for serial in serials],
                columns=("batch_id", "serial"),
            )
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION:
            return False
        raise
    return True


async def issue_codes(
    session: AsyncSession,
    actor: Principal,
    product: Product,
    lot: str,
    count: int,
    secret: bytes,
) -> tuple[Batch, CodeIssuance]:
    """Issue `count` signed item serials for a batch, in one bulk insert."""
    batch = await repository.find_batch(session, product, lot, for_update=True)
    if batch.code_count + count > MAX_CODES_PER_BATCH:
        raise invalid(
            "count",
            f"a batch holds at most {MAX_CODES_PER_BATCH} item codes; "
            f"{batch.code_count} are issued already",
        )
    driver = await fastpath.driver(session)
    for _ in range(3):
        # Signing 100,000 serials takes a few hundred milliseconds of CPU: off the loop.
        serials = await asyncio.to_thread(issue_serials, secret, product.gtin, lot, count)
        if await _copy_serials(driver, batch, serials):
            break
    else:
        raise Conflict("could not issue unique serials; retry the request")
    ends = {
        row["serial"]: row["id"]
        for row in await driver.fetch(
            "SELECT id, serial FROM item_codes WHERE batch_id = $1 AND serial = ANY($2::text[])",
            batch.id,
            [serials[0], serials[-1]],
        )
    }
    issuance = CodeIssuance(
        batch_id=batch.id,
        count=count,
        first_item_id=ends[serials[0]],
        last_item_id=ends[serials[-1]],
        first_serial=serials[0],
        last_serial=serials[-1],
        created_at=await db_now(session),
        created_by=actor.key_id,
    )
    session.add(issuance)
    batch.code_count += count
    await session.flush()
    await journal.record(
        session,
        actor,
        action="codes.issue",
        entity="batch",
        entity_id=str(batch.id),
        uscc=await _producer_uscc(session, product),
        after={
            "issuance_id": str(issuance.id),
            "gtin": product.gtin,
            "lot": lot,
            "count": count,
            "first_serial": issuance.first_serial,
            "last_serial": issuance.last_serial,
            "batch_code_count": batch.code_count,
        },
    )
    return batch, issuance


async def _producer_uscc(session: AsyncSession, product: Product) -> str | None:
    return await session.scalar(
        select(Organization.uscc).where(Organization.id == product.organization_id)
    )


def batch_path(gtin14: str, lot: str) -> str:
    """The API path of a batch, the lot percent-encoded as in the Digital Link URIs."""
    return f"/v1/products/{gtin14}/batches/{quote(lot, safe='')}"


def issuance_view(issuance: CodeIssuance, batch: Batch, product: Product, base: str) -> IssuanceOut:
    return IssuanceOut(
        id=issuance.id,
        gtin=product.gtin,
        lot=batch.lot,
        count=issuance.count,
        first_serial=issuance.first_serial,
        last_serial=issuance.last_serial,
        first_uri=digital_link.item_uri(base, product.gtin, batch.lot, issuance.first_serial),
        codes_csv=f"{batch_path(product.gtin, batch.lot)}/codes.csv?issuance={issuance.id}",
        batch_code_count=batch.code_count,
        created_at=issuance.created_at,
        created_by=issuance.created_by,
    )


async def issuance_ranges(
    session: Reader, batch: Batch, issuance_id: Any | None
) -> list[tuple[int, int]]:
    """The item-id ranges of a batch's issuances (or of one), oldest first."""
    statement = (
        select(CodeIssuance.first_item_id, CodeIssuance.last_item_id)
        .where(CodeIssuance.batch_id == batch.id)
        .order_by(CodeIssuance.first_item_id)
    )
    if issuance_id is not None:
        statement = statement.where(CodeIssuance.id == issuance_id)
    rows = (await session.execute(statement)).all()
    if issuance_id is not None and not rows:
        raise NotFound(f"no issuance {issuance_id} in batch {batch.lot!r}")
    return [(int(r[0]), int(r[1])) for r in rows]


async def stream_uris(
    session: Reader,
    base: str,
    gtin14: str,
    lot: str,
    batch_id: Any,
    ranges: list[tuple[int, int]],
) -> AsyncIterator[bytes]:
    """Item URIs one a line, read in keyset chunks so memory stays flat."""
    driver = await fastpath.driver(session)
    for first, last in ranges:
        after = first - 1
        while True:
            rows = await driver.fetch(
                "SELECT id, serial FROM item_codes WHERE batch_id = $1 AND id > $2 AND id <= $3 "
                "ORDER BY id LIMIT $4",
                batch_id,
                after,
                last,
                CSV_CHUNK,
            )
            if not rows:
                break
            uris = digital_link.item_uris(base, gtin14, lot, [r["serial"] for r in rows])
            yield ("\n".join(uris) + "\n").encode("ascii")
            after = rows[-1]["id"]
