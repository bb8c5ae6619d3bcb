"""Review findings of issue #13 that are about the contract as a client sees it:
redirects, dates, 405, the feedback body. Each names what it used to answer."""

from __future__ import annotations

from httpx import AsyncClient

from tests.security.dataset import Dataset


async def test_no_redirect_reflects_the_host_header(client: AsyncClient) -> None:
    """Was 307 to `http://evil.example/v1/organizations`: Starlette's slash redirect
    built the Location from the Host header (SPEC §8: Host headers are not trusted)."""
    for path in ("/v1/organizations/", "/lists/", "/v1/policies/"):
        response = await client.get(path, headers={"Host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", ""), path
        assert response.status_code == 404, (path, response.status_code)


def _problem(response: object, status: int) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


def _fields(problem: dict[str, object]) -> list[str]:
    errors = problem.get("errors")
    assert isinstance(errors, list)
    return [str(e["field"]) for e in errors]


async def test_dates_and_timestamps_are_iso_only(client: AsyncClient, world: Dataset) -> None:
    """Was 200 for `as_of=0` (read as 1970-01-01) and `as_of=1700000000` (Unix time):
    pydantic's lax dates. SPEC §8: `YYYY-MM-DD` and RFC 3339, nothing else."""
    credit = f"/v1/organizations/{world.a.uscc}/credit"
    for value in ("0", "1700000000", "2026-01-05T00:00:00", "20260105", "2026-1-5"):
        response = await client.get(credit, params={"as_of": value})
        assert "as_of" in _fields(_problem(response, 422)), value
    # (The hot credit route reads an offset-less timestamp in QCR_TIMEZONE.)
    for value in ("1700000000", "2026-01-05", "0"):
        response = await client.get(credit, params={"known_at": value})
        assert "known_at" in _fields(_problem(response, 422)), value
    assert (await client.get(credit, params={"as_of": "2026-01-05"})).status_code == 200
    # Well formed: answered (before the organization was recorded, a 404 that says so).
    ok = await client.get(credit, params={"known_at": "2026-01-05T08:00:00+08:00"})
    assert ok.status_code == 404 and "did not know" in ok.text, ok.text
    regulator = world.headers["regulator"]
    body = {
        "case_no": "ISO〔2026〕1号",
        "authority": "杭州市市场监督管理局",
        "decided_on": 0,
        "category": "产品质量",
        "severity": "minor",
        "public_summary": "标签不规范",
    }
    response = await client.post(
        f"/v1/organizations/{world.a.uscc}/violations", json=body, headers=regulator
    )
    assert any("decided_on" in f for f in _fields(_problem(response, 422)))
    response = await client.post(
        "/v1/credit/batch",
        json={"codes": [world.a.uscc], "as_of": 1700000000},
        headers=world.headers["partner"],
    )
    assert any("as_of" in f for f in _fields(_problem(response, 422)))
    response = await client.post(
        "/v1/lists/red/publications", json={"as_of": "0"}, headers=regulator
    )
    assert any("as_of" in f for f in _fields(_problem(response, 422)))


async def test_405_lists_every_method_of_the_path(client: AsyncClient) -> None:
    """Was `Allow: GET` on `/01/…` (GET, HEAD and POST routes) and `Allow: POST` on
    `/v1/lists/red/publications` (GET too): Starlette named the first route only."""
    cases = {
        "/01/06901234567892": {"GET", "HEAD", "POST"},
        "/v1/lists/red/publications": {"GET", "POST"},
        "/v1/organizations/91110000600037341L": {"GET", "PUT"},
    }
    for path, methods in cases.items():
        response = await client.request("DELETE", path)
        _problem(response, 405)
        assert {m.strip() for m in response.headers["allow"].split(",")} == methods, path


async def test_429_is_documented_wherever_a_limit_applies(client: AsyncClient) -> None:
    """Was undocumented on key-only operations, which count anonymous callers too."""
    document = (await client.get("/openapi.json")).json()
    for path, method in (
        ("/v1/organizations/{code}/violations", "post"),
        ("/v1/credit/batch", "post"),
        ("/v1/lists/{kind}/publications", "post"),
        ("/v1/changes", "get"),
    ):
        answers = document["paths"][path][method]["responses"]
        assert "429" in answers, (path, method)
        assert "Retry-After" in answers["429"]["headers"]


async def test_feedback_body_is_documented(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for level in ("/01/{gtin}", "/01/{gtin}/10/{lot}", "/01/{gtin}/10/{lot}/21/{serial}"):
        body = document["paths"][f"{level}/feedback"]["post"]["requestBody"]["content"]
        refs = {media: body[media]["schema"]["$ref"] for media in body}
        assert refs == {
            "application/json": "#/components/schemas/FeedbackCreate",
            "application/x-www-form-urlencoded": "#/components/schemas/FeedbackForm",
        }
    for name in ("FeedbackCreate", "FeedbackForm"):
        schema = schemas[name]
        assert schema["required"] == ["rating"]
        assert schema["properties"]["rating"]["minimum"] == 1
        assert schema["properties"]["rating"]["maximum"] == 5


async def test_a_non_json_feedback_body_asking_for_json_gets_problem_json(
    client: AsyncClient, world: Dataset
) -> None:
    """Was the HTML error page: only the Content-Type chose between page and problem."""
    assert world.a.product is not None
    response = await client.post(
        f"/01/{world.a.product.code}/feedback",
        content=b"rating=9",
        headers={"Content-Type": "text/plain", "Accept": "application/json"},
    )
    assert "body" in _fields(_problem(response, 422))
