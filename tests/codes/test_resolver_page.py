"""The resolver's page is rendered once per batch and kind, with the item's values
and links filled in per scan (app/codes/resolver.py `_page`): byte for byte the
page the template renders for that scan."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from app.codes import pages, resolution, resolver
from app.core.settings import Settings
from tests.codes.helpers import make_batch, make_product

ITEMS: list[dict[str, Any] | None] = [
    None,
    {
        "serial": "PGX7VNTREP7KUZQQOZUW",
        "scan_count": 1,
        "suspicious": False,
        "first_scanned_at": None,
    },
    {
        "serial": "PGX7VNTREP7KUZQQOZUW",
        "scan_count": 7,
        "suspicious": True,
        "first_scanned_at": dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC),
    },
]
PATHS = ["/01/06901234567892/10/A%26B", "/01/06901234567892/10/A&B'<x>/", "/01/06901234567892"]


def _document(parts: dict[str, Any]) -> resolution.BatchDocument:
    return resolution.BatchDocument(
        organization_id=uuid.uuid4(),
        product_id=uuid.uuid4(),
        batch_id=None,
        gtin="",
        lot=None,
        parts=parts,
        json_head=b"",
        json_tail=b"",
    )


def _as_rendered(
    doc: resolution.BatchDocument, item: dict[str, Any] | None, path: str, settings: Settings
) -> bytes:
    """The template rendered with this scan's values, as before the slots."""
    here = "./" + path.rsplit("/", 1)[-1]
    first = item and resolution.first_scan_local(item["first_scanned_at"], settings.zone)
    values = {
        "form_action": f"{here.removesuffix('/')}/feedback",
        "linkset_href": f"{here}?linkType=linkset",
        "first_scanned": first or "—",
    }
    return resolver._render(doc, item, settings, values.__getitem__).encode()


async def test_the_filled_page_is_the_rendered_page(
    client: AsyncClient, regulator: dict[str, str], uscc: str, test_settings: Settings
) -> None:
    gtin = await make_product(client, regulator, uscc, name='电水壶 <特别版> & "新"')
    await make_batch(client, regulator, gtin, "L1")
    parts = (await client.get(f"/01/{gtin}/10/L1", params={"format": "json"})).json()
    doc = _document(parts)
    for item in ITEMS:
        for path in PATHS:
            filled = resolver._page(doc, item, path, test_settings)
            assert filled == _as_rendered(doc, item, path, test_settings), (item, path)
    assert len(doc.pages) == 3  # no item, an item, a suspicious item


async def test_a_mark_in_the_data_is_rendered_as_it_is(
    client: AsyncClient,
    regulator: dict[str, str],
    uscc: str,
    test_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The marks are a random number of the process; were one in the data, the page
    would be rendered as it is every time, never filled in the wrong place."""
    monkeypatch.setattr(pages, "_MARK", "\ue000")
    gtin = await make_product(client, regulator, uscc, name="壶\ue000serial\ue000")
    await make_batch(client, regulator, gtin, "L1")
    parts = (await client.get(f"/01/{gtin}/10/L1", params={"format": "json"})).json()
    doc = _document(parts)
    item = ITEMS[1]
    filled = resolver._page(doc, item, PATHS[0], test_settings)
    assert filled == _as_rendered(doc, item, PATHS[0], test_settings)
    assert "壶\ue000serial\ue000".encode() in filled
    assert not doc.pages  # nothing kept: it is rendered every time
