"""What schemathesis found once every check ran (issue #13, item 7): each test
names what the service used to answer. The fuzzer (test_schemathesis.py) finds
these again; here each is one request, so a regression names itself."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.security.dataset import Dataset

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _methods(header: str) -> set[str]:
    return {m.strip() for m in header.split(",")}


def _problem_fields(response: Response, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [str(e["field"]) for e in response.json().get("errors", [])]


async def test_options_allow_lists_the_resource_methods(client: AsyncClient) -> None:
    """Was `Allow: GET, HEAD, OPTIONS` everywhere under /v1 (the methods shared
    cross-origin), so `PUT /v1/organizations/{code}` and every POST were missing."""
    cases = {
        "/v1/organizations/91110000600037341L": {"GET", "HEAD", "OPTIONS", "PUT"},
        "/v1/credit/batch": {"POST", "OPTIONS"},
        "/v1/measures/unacknowledged": {"GET", "HEAD", "OPTIONS"},
        "/01/06901234567892/feedback": {"POST", "OPTIONS"},
    }
    for path, methods in cases.items():
        response = await client.options(path)
        assert response.status_code == 204, path
        assert _methods(response.headers["allow"]) == methods, path
    # What other origins may do is unchanged: reads only.
    preflight = await client.options("/v1/credit/batch")
    assert _methods(preflight.headers["access-control-allow-methods"]) == {"GET", "HEAD", "OPTIONS"}


async def test_undeclared_methods_are_405_with_allow(client: AsyncClient, world: Dataset) -> None:
    """Were 422 (`PUT /v1/measures/unacknowledged` reached `PUT /v1/measures/{id}`)
    and 404 (a POST to a code's URI, a GET of its `/feedback`, a GET of a batch's
    codes, read as a lot "L1/codes")."""
    assert world.a.product is not None
    product = f"/01/{world.a.product.gtin}"
    regulator = world.headers["regulator"]
    codes = f"/v1/products/{world.a.product.gtin}/batches/L1/codes"
    cases: list[tuple[str, str, dict[str, str], set[str]]] = [
        ("PUT", "/v1/measures/unacknowledged", regulator, {"GET"}),
        ("POST", product, {}, {"GET", "HEAD", "OPTIONS"}),
        ("GET", product + "/feedback", {}, {"POST", "OPTIONS"}),
        ("GET", codes, regulator, {"POST"}),
    ]
    for method, path, headers, allow in cases:
        response = await client.request(method, path, headers=headers, json={"rating": 5})
        _problem_fields(response, 405)
        assert _methods(response.headers["allow"]) == allow, (method, path)
    # A lot that ends in "/codes" comes percent-encoded, and is a batch (here: none).
    encoded = await client.get(codes.replace("L1/codes", "L1%2Fcodes"), headers=regulator)
    assert encoded.status_code == 404, encoded.text


async def test_complaint_statistics_dates_are_iso_only(client: AsyncClient) -> None:
    """Was 200 for `to=0`, read as 1970-01-01."""
    for name in ("from", "to"):
        response = await client.get("/v1/complaints/stats", params={name: "0"})
        assert _problem_fields(response) == [name]


async def test_complaint_form_as_documented(client: AsyncClient, world: Dataset) -> None:
    """A form that asks for JSON got the HTML page of a 422; a field the form does
    not have was ignored; blank optional fields are absent, as the document says."""
    form = {"kind": "report", "category": "质量问题", "description": "无生产日期"}
    json_please = FORM | {"Accept": "application/json"}
    refused = await client.post("/v1/complaints", data=form | {"uscc": "x"}, headers=json_please)
    assert _problem_fields(refused) == ["uscc"]
    unknown = await client.post("/v1/complaints", data=form | {"channel": "12315"}, headers=FORM)
    assert unknown.status_code == 422 and "text/html" in unknown.headers["content-type"]
    unknown = await client.post(
        "/v1/complaints", data=form | {"channel": "12315"}, headers=json_please
    )
    assert _problem_fields(unknown) == ["channel"]
    blanks = {"gtin": "", "lot": " ", "serial": "", "complainant_name": ""}
    received = await client.post(
        "/v1/complaints", data=form | blanks | {"uscc": world.a.uscc}, headers=json_please
    )
    assert received.status_code == 201, received.text
    assert received.json()["gtin"] is None and received.json()["uscc"] == world.a.uscc


async def test_the_document_says_what_is_refused(client: AsyncClient, world: Dataset) -> None:
    """Blank text, a patch's null for a field that cannot be cleared, an empty
    correction and money below a fen were refused, the document said nothing."""
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert schemas["RecallPatch"]["properties"]["status"].get("type") == "string"
    assert schemas["RecallPatch"]["minProperties"] == 1
    assert schemas["OrganizationWrite"]["properties"]["name"]["pattern"] == r"\S"
    decision = schemas["ObjectionDecision"]["properties"]["correction"]["anyOf"][0]
    assert decision["minProperties"] == 1
    complaint = document["paths"]["/v1/complaints"]["post"]["requestBody"]["content"]
    assert set(complaint) == {"application/json", "application/x-www-form-urlencoded"}
    assert "$defs" not in str(complaint)
    regulator = world.headers["regulator"]
    blank = await client.put(
        f"/v1/organizations/{world.a.uscc}", json={"name": "  "}, headers=regulator
    )
    assert "name" in _problem_fields(blank)
    fraction = await client.post(
        f"/v1/organizations/{world.a.uscc}/violations",
        json={
            "case_no": "分〔2026〕1号",
            "authority": "北京市市场监督管理局",
            "decided_on": "2026-01-05",
            "category": "产品质量",
            "severity": "minor",
            "public_summary": "标签不规范",
            "penalty_amount": 1e-24,
        },
        headers=regulator,
    )
    assert "penalty_amount" in _problem_fields(fraction)
