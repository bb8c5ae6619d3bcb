"""Statements of the codes domain; the enterprise-key boundary lives in `readable_products`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select

from app.codes.models import Batch, ItemCode, Product
from app.core.database import Reader
from app.core.errors import NotFound
from app.core.principal import Principal, Role
from app.organizations.models import Organization


def readable_products(principal: Principal) -> Select[Product, Organization]:
    """Products this caller may see: every one for regulators, its own for an
    enterprise key, none for anyone else. Another organization's product is
    simply not found (404), so no data and no difference leaks."""
    statement = select(Product, Organization).join(
        Organization, Organization.id == Product.organization_id
    )
    if principal.is_regulator:
        return statement
    if principal.role is Role.enterprise and principal.uscc:
        return statement.where(Organization.uscc == principal.uscc)
    return statement.where(false())


async def find_product(
    session: Reader, principal: Principal, gtin14: str
) -> tuple[Product, Organization]:
    row = (
        await session.execute(readable_products(principal).where(Product.gtin == gtin14))
    ).first()
    if row is None:
        raise NotFound(f"no product with GTIN {gtin14}")
    product, org = row
    return product, org


async def find_batch(
    session: Reader, product: Product, lot: str, *, for_update: bool = False
) -> Batch:
    statement = select(Batch).where(Batch.product_id == product.id, Batch.lot == lot)
    if for_update:
        # NO KEY UPDATE: rows referencing the batch (feedback, item codes) only
        # take KEY SHARE, so they never wait on an issuance in progress.
        statement = statement.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    batch = await session.scalar(statement)
    if batch is None:
        raise NotFound(f"no batch {lot!r} of product {product.gtin}")
    return batch


async def find_item(session: Reader, batch: Batch, serial: str) -> ItemCode:
    item = await session.scalar(
        select(ItemCode).where(ItemCode.batch_id == batch.id, ItemCode.serial == serial)
    )
    if item is None:
        raise NotFound(f"no item code {serial} in batch {batch.lot!r}")
    return item


async def distinct_clients(driver: Any, item_id: int, limit: int) -> int:
    """Distinct non-bot clients that scanned an item, counted up to `limit`."""
    value = await driver.fetchval(
        "SELECT count(*) FROM (SELECT DISTINCT client_hash FROM item_scans "
        "WHERE item_id = $1 AND agent <> 'bot' LIMIT $2) AS clients",
        item_id,
        limit,
    )
    return int(value)
