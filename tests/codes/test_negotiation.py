"""Content negotiation and link types (pure), and the resolver's OpenAPI entry."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.codes import linkset
from app.codes.negotiation import wants_json, wants_linkset


@pytest.mark.parametrize(
    ("format_", "accept", "json"),
    [
        (None, None, False),
        (None, "*/*", False),
        (None, "application/json", True),
        (None, "application/json, text/html;q=0.9", True),
        (None, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        (None, "application/json;q=0.5, text/html", False),
        (None, "application/*", True),
        (None, "application/json;q=oops", False),
        ("json", "text/html", True),
        ("html", "application/json", False),
    ],
)
def test_wants_json(format_: str | None, accept: str | None, json: bool) -> None:
    assert wants_json(format_, accept) is json


def test_wants_linkset() -> None:
    assert wants_linkset("application/linkset+json")
    assert not wants_linkset("*/*")
    assert not wants_linkset("text/html, application/linkset+json;q=0.5")
    assert not wants_linkset("application/linkset+json;q=0")


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        (None, None),
        ("all", linkset.LINKSET),
        ("linkset", linkset.LINKSET),
        ("gs1:pip", None),
        ("gs1:recallStatus", "gs1:recallStatus"),
        ("https://gs1.org/voc/recallStatus", "gs1:recallStatus"),
        ("https://ref.gs1.org/voc/certificationInfo", "gs1:certificationInfo"),
        ("gs1:review", "gs1:review"),
        ("gs1:epil", None),
        ("nonsense", None),
    ],
)
def test_link_types(value: str | None, normalised: str | None) -> None:
    assert linkset.normalise(value) == normalised


async def test_openapi_documents_the_resolver(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert not [path for path in spec["paths"] if "{code}" in path and path.startswith("/01")]
    levels = ("/01/{gtin}", "/01/{gtin}/10/{lot}", "/01/{gtin}/10/{lot}/21/{serial}")
    names_of = (["gtin"], ["gtin", "lot"], ["gtin", "lot", "serial"])
    for path, names in zip(levels, names_of, strict=True):
        resolver = spec["paths"][path]
        assert set(resolver) == {"get", "head"}
        get = resolver["get"]
        assert [p["name"] for p in get["parameters"] if p["in"] == "path"] == names
        assert {"200", "304", "307", "404", "422", "429"} <= set(get["responses"])
        assert next(iter(get["responses"]["200"]["content"])) == "application/json"
        assert "Retry-After" in get["responses"]["429"]["headers"]
        post = spec["paths"][path + "/feedback"]["post"]
        assert "429" in post["responses"]
        body = post["requestBody"]["content"]
        assert {"application/json", "application/x-www-form-urlencoded"} <= set(body)
    products = spec["paths"]["/v1/products/{gtin}/batches/{lot}/codes"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(products["responses"])
