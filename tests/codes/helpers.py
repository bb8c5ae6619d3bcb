"""Factories for products, batches and codes, through the HTTP API."""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import quote

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import today
from app.identifiers.gtin import make_gtin
from tests.factories import committed_key, committed_organization


def random_gtin(rng: random.Random | None = None) -> str:
    """A valid GTIN-13 (prefix 690-699: GS1 China)."""
    rng = rng or random.Random()
    return make_gtin("69" + "".join(rng.choice("0123456789") for _ in range(10)))


def product_body(uscc: str, **overrides: Any) -> dict[str, Any]:
    return {
        "gtin": random_gtin(),
        "uscc": uscc,
        "name": "电热水壶",
        "model": "HK-1720",
        "execution_standard": "GB 4706.19-2008",
        "factory_name": "宁波金鼎电器有限公司第二工厂",
        "factory_address": "浙江省宁波市北仑区新碶街道1号",
    } | overrides


def report(**overrides: Any) -> dict[str, Any]:
    return {
        "report_no": f"WT{uuid.uuid4().hex[:8].upper()}",
        "authority": "国家家用电器质量检验检测中心",
        "inspected_on": today().isoformat(),
        "result": "pass",
        "standard": "GB 4706.19-2008",
        "items": ["泄漏电流", "耐热"],
    } | overrides


def batch_body(lot: str = "L2026-11", **overrides: Any) -> dict[str, Any]:
    day = today()  # the app's clock at each call: a run may cross midnight
    return {
        "lot": lot,
        "produced_on": day.isoformat(),
        "expires_on": day.replace(year=day.year + 2).isoformat(),
        "inspection_reports": [report()],
    } | overrides


def lot_path(lot: str) -> str:
    return quote(lot, safe="")


async def make_product(client: AsyncClient, headers: dict[str, str], uscc: str, **kw: Any) -> str:
    """Register a product; returns its GTIN-14."""
    response = await client.post("/v1/products", json=product_body(uscc, **kw), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["gtin"])


async def make_batch(
    client: AsyncClient, headers: dict[str, str], gtin: str, lot: str = "L2026-11", **kw: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/products/{gtin}/batches", json=batch_body(lot, **kw), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def issue(
    client: AsyncClient, headers: dict[str, str], gtin: str, lot: str, count: int
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/products/{gtin}/batches/{lot_path(lot)}/codes",
        json={"count": count},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def codes_csv(
    client: AsyncClient, headers: dict[str, str], gtin: str, lot: str, **params: str
) -> list[str]:
    response = await client.get(
        f"/v1/products/{gtin}/batches/{lot_path(lot)}/codes.csv", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    return response.text.splitlines()


def code_path(uri: str) -> str:
    """The path of a Digital Link URI (the tests' base URL differs from the public one)."""
    return "/01/" + uri.split("/01/", 1)[1]


async def item_codes(
    client: AsyncClient, headers: dict[str, str], uscc: str, *, count: int = 3, lot: str = "L1"
) -> tuple[str, list[str]]:
    """A product with one batch and `count` item codes: (gtin14, item paths)."""
    gtin = await make_product(client, headers, uscc)
    await make_batch(client, headers, gtin, lot)
    await issue(client, headers, gtin, lot, count)
    return gtin, [code_path(uri) for uri in await codes_csv(client, headers, gtin, lot)]


async def committed_item_code(client: AsyncClient, engine: AsyncEngine) -> tuple[str, str]:
    """A committed organization with one item code, issued by a regulator:
    (USCC, the code's path)."""
    uscc = await committed_organization(engine)
    regulator = await committed_key(engine, "regulator")
    _, paths = await item_codes(client, regulator, uscc, count=1)
    return uscc, paths[0]
