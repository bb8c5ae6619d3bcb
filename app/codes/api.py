"""`/v1/products…`: products, batches, item codes, codes.csv and QR images.

Enterprise keys see their own organization's products only (one place:
`repository.readable_products`); regulators see all. Routes under
`/batches/{lot:path}` are declared most specific first, because a lot may hold
a percent-encoded `/` and the path converter takes every segment it can.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from app.auth.dependencies import EnterpriseOrRegulator, Idempotent
from app.codes import digital_link, pages, qr, repository, service
from app.codes.context import CodeSecret
from app.codes.models import Batch, Product
from app.codes.schemas import (
    BatchCreate,
    BatchOut,
    CodeRequest,
    IssuanceOut,
    ItemCodeOut,
    ProductCreate,
    ProductOut,
)
from app.codes.serials import verify_serial
from app.codes.types import GtinPath, ImageFormat, LotPath, QrSize, SerialPath
from app.core import fastpath
from app.core.database import DbSession, PrimaryRead, Reader
from app.core.errors import Forbidden, MethodNotAllowed, NotFound, invalid
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
from app.organizations.models import Organization
from app.organizations.types import Uscc

router = APIRouter(prefix="/v1/products", tags=["products"], route_class=AutoCommitRoute)

BATCH = "/{gtin}/batches/{lot:path}"
CODES = "/codes"
QR_CACHE_CONTROL = "private, max-age=86400, immutable"
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
_QR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the QR code (error correction M)",
        "content": {"image/png": {}, "image/svg+xml": {}},
    },
    304: {"description": "not modified (If-None-Match)"},
    **responses(401, 403, 404, 422),
}


@router.post("", **created(ProductOut, 401, 403, 404, 409, 422))
async def create_product(
    body: ProductCreate,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    idempotency: Idempotent,
    settings: AppSettings,
) -> Response:
    """Register a product (an enterprise key: only for its own USCC)."""

    async def make() -> Created:
        base = settings.public_base_url
        product, org = await service.create_product(session, principal, body, base)
        view = service.product_view(product, org, base)
        return Created(view, location=f"/v1/products/{product.gtin}")

    return await idempotency.create(make)


@router.get("", responses=responses(401, 403, 422))
async def list_products(
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    uscc: Annotated[Uscc | None, Query(max_length=64, description="the producer")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ProductOut]:
    """Products by GTIN; an enterprise key sees its own organization's only."""
    if uscc is not None and not (principal.is_regulator or principal.owns(uscc)):
        raise Forbidden("an enterprise key may only read its own organization's products")
    statement = repository.readable_products(principal).order_by(Product.gtin).limit(limit + 1)
    if uscc is not None:
        statement = statement.where(Organization.uscc == uscc)
    if (key := decode_cursor(cursor, 1)) is not None:
        statement = statement.where(Product.gtin > str(key[0]))
    rows = (await session.execute(statement)).all()
    items = [service.product_view(p, o, settings.public_base_url) for p, o in rows[:limit]]
    more = len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].gtin]) if more else None)


@router.get("/{gtin}", responses=responses(401, 403, 404, 422))
async def get_product(
    gtin: GtinPath, session: PrimaryRead, principal: EnterpriseOrRegulator, settings: AppSettings
) -> ProductOut:
    """One product (404 for another organization's product under an enterprise key)."""
    product, org = await repository.find_product(session, principal, gtin)
    return service.product_view(product, org, settings.public_base_url)


@router.post("/{gtin}/batches", **created(BatchOut, 401, 403, 404, 409, 422))
async def create_batch(
    gtin: GtinPath,
    body: BatchCreate,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    idempotency: Idempotent,
    settings: AppSettings,
) -> Response:
    """Register a batch (lot) with its dates and inspection reports."""

    async def make() -> Created:
        product, org = await repository.find_product(session, principal, gtin)
        base = settings.public_base_url
        batch = await service.create_batch(session, principal, product, org, body, base)
        view = service.batch_view(batch, product, base)
        return Created(view, location=service.batch_path(gtin, batch.lot))

    return await idempotency.create(make)


@router.get("/{gtin}/batches", responses=responses(401, 403, 404, 422))
async def list_batches(
    gtin: GtinPath,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[BatchOut]:
    """A product's batches by lot."""
    product, _ = await repository.find_product(session, principal, gtin)
    statement = (
        select(Batch).where(Batch.product_id == product.id).order_by(Batch.lot).limit(limit + 1)
    )
    if (key := decode_cursor(cursor, 1)) is not None:
        statement = statement.where(Batch.lot > str(key[0]))
    rows = (await session.scalars(statement)).all()
    items = [service.batch_view(b, product, settings.public_base_url) for b in rows[:limit]]
    more = len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].lot]) if more else None)


def _filename(gtin14: str, lot: str) -> str:
    return f"{gtin14}-{re.sub(r'[^A-Za-z0-9._-]', '_', lot)}.csv"


@router.get(
    BATCH + "/codes.csv",
    response_class=StreamingResponse,
    responses={
        200: {"description": "one Digital Link URI a line", "content": {"text/csv": {}}},
        **responses(401, 403, 404, 422),
    },
)
async def codes_csv(
    gtin: GtinPath,
    lot: LotPath,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    issuance: Annotated[uuid.UUID | None, Query(description="one issuance's codes only")] = None,
) -> StreamingResponse:
    """The batch's item codes as Digital Link URIs, one a line, for label printers."""
    product, _ = await repository.find_product(session, principal, gtin)
    batch = await repository.find_batch(session, product, lot)
    ranges = await service.issuance_ranges(session, batch, issuance)
    body = service.stream_uris(
        session, settings.public_base_url, product.gtin, batch.lot, batch.id, ranges
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(gtin, lot)}"',
            "Cache-Control": "private, no-store",
        },
    )


def _image(uri: str, fmt: str, size: int, if_none_match: str | None) -> Response:
    etag = '"qr-' + hashlib.sha256(f"{fmt}\n{size}\n{uri}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": QR_CACHE_CONTROL}
    if if_none_match and etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    render = qr.render_png if fmt == "png" else qr.render_svg
    try:
        image = render(uri, size)
    except qr.InvalidSize as exc:
        raise invalid("size", str(exc)) from None
    return Response(image, media_type=IMAGE_TYPES[fmt], headers=headers)


async def _qr(uri: str, fmt: str, size: int, if_none_match: str | None) -> Response:
    # Rendering is ~10 ms of CPU when not cached: keep it off the event loop.
    return await asyncio.to_thread(_image, uri, fmt, size, if_none_match)


IfNoneMatch = Annotated[str | None, Header(max_length=1000)]


@router.get(BATCH + "/codes/{serial}/qr.{fmt}", response_class=Response, responses=_QR_RESPONSES)
async def item_qr(
    gtin: GtinPath,
    lot: LotPath,
    serial: SerialPath,
    fmt: ImageFormat,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    secret: CodeSecret,
    size: QrSize = 256,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The QR code of an item's Digital Link URI."""
    product, _ = await repository.find_product(session, principal, gtin)
    await _item(session, secret, product, lot, serial)
    uri = digital_link.item_uri(settings.public_base_url, product.gtin, lot, serial)
    return await _qr(uri, fmt, size, if_none_match)


async def _item(
    session: Reader, secret: bytes, product: Product, lot: str, serial: str
) -> tuple[Batch, Any]:
    if not verify_serial(secret, product.gtin, lot, serial):
        raise NotFound(f"{serial} is not a serial issued for this batch")
    batch = await repository.find_batch(session, product, lot)
    return batch, await repository.find_item(session, batch, serial)


@router.get(BATCH + "/codes/{serial}", responses=responses(401, 403, 404, 422))
async def get_item_code(
    gtin: GtinPath,
    lot: LotPath,
    serial: SerialPath,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    secret: CodeSecret,
) -> ItemCodeOut:
    """One item code and its scans: count, first scan, distinct clients, suspicious."""
    product, _ = await repository.find_product(session, principal, gtin)
    _, item = await _item(session, secret, product, lot, serial)
    threshold = settings.suspicious_scan_threshold
    driver = await fastpath.driver(session)
    clients = await repository.distinct_clients(driver, item.id, threshold + 1)
    return ItemCodeOut(
        gtin=product.gtin,
        lot=lot,
        serial=serial,
        uri=digital_link.item_uri(settings.public_base_url, product.gtin, lot, serial),
        scan_count=item.scan_count,
        first_scanned_at=item.first_scanned_at,
        distinct_clients=clients,
        suspicious=clients > threshold,
    )


@router.post(BATCH + "/codes", **created(IssuanceOut, 401, 403, 404, 409, 422))
async def issue_codes(
    gtin: GtinPath,
    lot: LotPath,
    body: CodeRequest,
    session: DbSession,
    principal: EnterpriseOrRegulator,
    idempotency: Idempotent,
    settings: AppSettings,
    secret: CodeSecret,
) -> Response:
    """Issue `count` signed item codes (at most 100000 a call) in one bulk insert."""

    async def make() -> Created:
        product, _ = await repository.find_product(session, principal, gtin)
        batch, issuance = await service.issue_codes(
            session, principal, product, lot, body.count, secret
        )
        view = service.issuance_view(issuance, batch, product, settings.public_base_url)
        return Created(view, location=view.codes_csv)

    return await idempotency.create(make)


@router.get(BATCH + "/qr.{fmt}", response_class=Response, responses=_QR_RESPONSES)
async def batch_qr(
    gtin: GtinPath,
    lot: LotPath,
    fmt: ImageFormat,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    size: QrSize = 256,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The QR code of a batch's Digital Link URI."""
    product, _ = await repository.find_product(session, principal, gtin)
    await repository.find_batch(session, product, lot)
    uri = digital_link.batch_uri(settings.public_base_url, product.gtin, lot)
    return await _qr(uri, fmt, size, if_none_match)


@router.get(BATCH, responses=responses(401, 403, 404, 422))
async def get_batch(
    request: Request,
    gtin: GtinPath,
    lot: LotPath,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
) -> BatchOut:
    """One batch with its inspection reports and how many item codes it has."""
    if pages.raw_path(request).endswith(CODES):
        # `…/L1/codes` as sent (not `…/L1%2Fcodes`, a lot that ends in "/codes") is
        # the batch's codes, which are issued by POST.
        raise MethodNotAllowed("item codes are issued by POST", headers={"Allow": "POST"})
    product, _ = await repository.find_product(session, principal, gtin)
    batch = await repository.find_batch(session, product, lot)
    return service.batch_view(batch, product, settings.public_base_url)


@router.get("/{gtin}/qr.{fmt}", response_class=Response, responses=_QR_RESPONSES)
async def product_qr(
    gtin: GtinPath,
    fmt: ImageFormat,
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    settings: AppSettings,
    size: QrSize = 256,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The QR code of a product's Digital Link URI."""
    product, _ = await repository.find_product(session, principal, gtin)
    return await _qr(
        digital_link.product_uri(settings.public_base_url, product.gtin), fmt, size, if_none_match
    )
