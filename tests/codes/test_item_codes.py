"""Issuing item codes in bulk, codes.csv, QR images, the item status endpoint."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.codes.models import ItemCode
from app.codes.serials import SERIAL_LENGTH, verify_serial
from tests.codes.helpers import codes_csv, issue, lot_path, make_batch, make_product
from tests.factories import make_organization

SECRET = b"test-secret-0123456789abcdef"


def _fields(uri: str) -> dict[str, str]:
    parsed = GS1DigitalLinkURI.parse(uri)
    return {element.ai.ai: element.value for element in parsed.element_strings}


async def test_issue_codes_and_read_them_back_as_digital_links(
    client: AsyncClient, enterprise: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    gtin = await make_product(client, enterprise, uscc)
    lot = "B/2026:11%"
    await make_batch(client, enterprise, gtin, lot)
    first = await issue(client, enterprise, gtin, lot, 5)
    assert first["count"] == 5 and first["batch_code_count"] == 5
    second = await issue(client, enterprise, gtin, lot, 3)
    assert second["batch_code_count"] == 8

    uris = await codes_csv(client, enterprise, gtin, lot)
    assert len(uris) == len(set(uris)) == 8
    for uri in uris:
        assert uri.startswith(f"http://localhost:8000/01/{gtin}/10/B%2F2026%3A11%25/21/")
        fields = _fields(uri)
        assert fields["01"] == gtin and fields["10"] == lot
        assert len(fields["21"]) == SERIAL_LENGTH
        assert verify_serial(SECRET, gtin, lot, fields["21"])
    assert _fields(uris[0])["21"] == first["first_serial"]
    assert _fields(uris[4])["21"] == first["last_serial"]
    assert uris[0] == first["first_uri"]

    only_second = await client.get(second["codes_csv"], headers=enterprise)
    assert only_second.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in only_second.headers["content-disposition"]
    assert only_second.text.splitlines() == uris[5:]

    audit = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action == "codes.issue"))
    ).all()
    assert [a.after["count"] for a in audit if a.after] == [5, 3]


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "greater than or equal to 1"),
        (100_001, "less than or equal to 100000"),
        ("10", "valid integer"),
        (1.5, "valid integer"),
        (True, "valid integer"),
    ],
)
async def test_count_is_bounded(
    client: AsyncClient, regulator: dict[str, str], uscc: str, count: object, message: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, "L1")
    response = await client.post(
        f"/v1/products/{gtin}/batches/L1/codes", json={"count": count}, headers=regulator
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "count"
    assert message in error["message"]


async def test_codes_for_an_unknown_batch_are_404(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(
        f"/v1/products/{gtin}/batches/NOPE/codes", json={"count": 1}, headers=regulator
    )
    assert response.status_code == 404
    csv = await client.get(f"/v1/products/{gtin}/batches/NOPE/codes.csv", headers=regulator)
    assert csv.status_code == 404


async def test_issuing_is_idempotent(
    client: AsyncClient, enterprise: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    gtin = await make_product(client, enterprise, uscc)
    await make_batch(client, enterprise, gtin, "L1")
    headers = enterprise | {"Idempotency-Key": "print-run-7"}
    path = f"/v1/products/{gtin}/batches/L1/codes"
    first = await client.post(path, json={"count": 4}, headers=headers)
    again = await client.post(path, json={"count": 4}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert await session.scalar(select(func.count()).select_from(ItemCode)) == 4


async def test_one_hundred_thousand_codes_in_a_few_seconds(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, "BIG")
    started = time.perf_counter()
    issued = await issue(client, regulator, gtin, "BIG", 100_000)
    issuing = time.perf_counter() - started
    started = time.perf_counter()
    uris = await codes_csv(client, regulator, gtin, "BIG")
    streaming = time.perf_counter() - started
    print(f"issued 100000 codes in {issuing:.2f}s, streamed codes.csv in {streaming:.2f}s")
    assert issued["count"] == 100_000
    assert len(uris) == 100_000
    assert len({uri.rsplit("/", 1)[1] for uri in uris}) == 100_000
    assert issuing < 15  # a few seconds on the 2-core CI machine; generous against noise


async def test_item_status_for_the_enterprise(
    client: AsyncClient, enterprise: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, enterprise, uscc)
    await make_batch(client, enterprise, gtin, "L1")
    serial = (await issue(client, enterprise, gtin, "L1", 1))["first_serial"]
    response = await client.get(
        f"/v1/products/{gtin}/batches/L1/codes/{serial}", headers=enterprise
    )
    assert response.status_code == 200
    assert response.json() | {"uri": None} == {
        "gtin": gtin,
        "lot": "L1",
        "serial": serial,
        "uri": None,
        "scan_count": 0,
        "first_scanned_at": None,
        "distinct_clients": 0,
        "suspicious": False,
    }
    forged = serial[:-1] + ("A" if serial[-1] != "A" else "B")
    missing = await client.get(f"/v1/products/{gtin}/batches/L1/codes/{forged}", headers=enterprise)
    assert missing.status_code == 404


@pytest.mark.parametrize("level", ["product", "batch", "item"])
async def test_qr_png_decodes_to_the_digital_link(
    client: AsyncClient, enterprise: dict[str, str], uscc: str, level: str
) -> None:
    gtin = await make_product(client, enterprise, uscc)
    lot = "L/7"
    await make_batch(client, enterprise, gtin, lot)
    issued = await issue(client, enterprise, gtin, lot, 1)
    base = f"/v1/products/{gtin}"
    expected = f"http://localhost:8000/01/{gtin}"
    if level != "product":
        base += f"/batches/{lot_path(lot)}"
        expected += "/10/L%2F7"
    if level == "item":
        base += f"/codes/{issued['first_serial']}"
        expected = issued["first_uri"]
    response = await client.get(f"{base}/qr.png?size=300", headers=enterprise)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert "max-age" in response.headers["cache-control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (300, 300)
    decoded = zxingcpp.read_barcodes(image)
    assert [d.text for d in decoded] == [expected]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode
    assert "M" in decoded[0].ec_level

    svg = await client.get(f"{base}/qr.svg", headers=enterprise)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<?xml") and 'width="256"' in svg.text

    etag = response.headers["etag"]
    cached = await client.get(
        f"{base}/qr.png?size=300", headers=enterprise | {"If-None-Match": etag}
    )
    assert cached.status_code == 304


@pytest.mark.parametrize(
    ("query", "field"),
    [("size=63", "size"), ("size=2049", "size"), ("size=big", "size"), ("size=-5", "size")],
)
async def test_qr_size_is_bounded(
    client: AsyncClient, regulator: dict[str, str], uscc: str, query: str, field: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, "L1")
    serial = (await issue(client, regulator, gtin, "L1", 1))["first_serial"]
    path = f"/v1/products/{gtin}/batches/L1/codes/{serial}/qr.png?{query}"
    response = await client.get(path, headers=regulator)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_qr_of_unknown_format_or_forged_serial(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    uscc = await make_organization(session)
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, "L1")
    assert (await client.get(f"/v1/products/{gtin}/qr.gif", headers=regulator)).status_code == 422
    forged = "A" * SERIAL_LENGTH
    response = await client.get(
        f"/v1/products/{gtin}/batches/L1/codes/{forged}/qr.png", headers=regulator
    )
    assert response.status_code == 404
