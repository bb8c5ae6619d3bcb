"""GS1-Conformant resolver behaviour (issue 18), for a product, a batch and an item
code whose lot holds `/`, `%`, `&` and `+`: OPTIONS and CORS, HEAD, `Vary:
Accept`, link-type redirects to the absolute targets the linkset names with the
query string passed on, a trailing slash, linksets with every level up to the
GTIN, the description file, unknown link types."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from httpx import AsyncClient

from app.codes import linkset
from tests.codes.helpers import codes_csv, issue, make_batch, make_product

BASE = "http://localhost:8000"  # QCR_PUBLIC_BASE_URL of the tests
LOT = "A/B%C&D+E"
JSON = {"Accept": "application/json"}
VOC = "https://gs1.org/voc/"


@pytest.fixture
async def codes(client: AsyncClient, regulator: dict[str, str], uscc: str) -> dict[str, str]:
    """level -> the path of a code of that level (the lot percent-encoded)."""
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, LOT)
    await issue(client, regulator, gtin, LOT, 1)
    [item_uri] = await codes_csv(client, regulator, gtin, LOT)
    batch = f"/01/{gtin}/10/{quote(LOT, safe='')}"
    assert item_uri.startswith(BASE + batch + "/21/")
    return {"product": f"/01/{gtin}", "batch": batch, "item": item_uri.removeprefix(BASE)}


LEVELS = ("product", "batch", "item")


@pytest.mark.parametrize("level", LEVELS)
async def test_options_and_cors(client: AsyncClient, codes: dict[str, str], level: str) -> None:
    path = codes[level]
    preflight = await client.options(
        path,
        headers={"Origin": "https://scanner.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert {"GET", "HEAD", "OPTIONS"} <= set(preflight.headers["allow"].split(", "))
    assert "access-control-allow-credentials" not in preflight.headers
    feedback = await client.options(path + "/feedback")
    assert "POST" in feedback.headers["access-control-allow-methods"]
    for headers in ({"Origin": "https://scanner.example"} | JSON, {"Origin": "null"}):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "Link" in answer.headers["access-control-expose-headers"]
        assert "access-control-allow-credentials" not in answer.headers
    # The not-genuine answer is shared too (a scanner app tells the user).
    missing = await client.get(codes["product"][:-1] + "0/10/NOPE", headers=JSON)
    assert missing.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("level", LEVELS)
async def test_head_and_vary(client: AsyncClient, codes: dict[str, str], level: str) -> None:
    get = await client.get(codes[level], headers=JSON)
    head = await client.head(codes[level], headers=JSON)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"] or level == "item"  # a scan counts
    assert get.headers["vary"] == head.headers["vary"] == "Accept"
    assert head.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("level", LEVELS)
async def test_trailing_slash_is_tolerated(
    client: AsyncClient, codes: dict[str, str], level: str
) -> None:
    with_slash = await client.get(codes[level] + "/", headers=JSON)
    assert with_slash.status_code == 200
    assert with_slash.json()["product"]["gtin"] == codes["product"][4:]
    page = await client.get(codes[level] + "/")
    assert page.status_code == 200
    assert 'action="./feedback"' in page.text  # relative to the slashed URI
    posted = await client.post(codes[level] + "/feedback/", json={"rating": 4})
    assert posted.status_code == 201


@pytest.mark.parametrize("level", LEVELS)
async def test_link_type_redirects_to_the_linkset_target(
    client: AsyncClient, codes: dict[str, str], level: str
) -> None:
    anchor = BASE + codes[level]
    links = (await client.get(codes[level] + "?linkType=linkset")).json()["linkset"][0]
    for link_type, section in linkset.SECTIONS.items():
        target = links[VOC + link_type.removeprefix("gs1:")][0]
        assert target["href"] == f"{anchor}#{section}"  # a real anchor of the page
        redirect = await client.get(codes[level] + f"?linkType={link_type}")
        assert redirect.status_code == 307
        assert redirect.headers["location"] == target["href"]
        assert redirect.headers["vary"] == "Accept"
        # The query string is passed on (less linkType), ahead of the fragment.
        passed = await client.get(codes[level] + f"?utm_source=qr&linkType={link_type}&x=1")
        assert passed.headers["location"] == f"{anchor}?utm_source=qr&x=1#{section}"
    # The page has those anchors.
    page = (await client.get(codes[level])).text
    assert all(f'id="{section}"' in page for section in linkset.SECTIONS.values())


async def test_linkset_carries_every_level_up_to_the_gtin(
    client: AsyncClient, codes: dict[str, str]
) -> None:
    expected = {"product": ["product"], "batch": ["batch", "product"]}
    expected["item"] = ["item", "batch", "product"]
    for level, above in expected.items():
        answer = await client.get(codes[level], headers={"Accept": "application/linkset+json"})
        assert answer.headers["content-type"] == linkset.MEDIA_TYPE
        [links] = answer.json()["linkset"]
        assert links["anchor"] == BASE + codes[level]
        for name in ("pip", "recallStatus", "certificationInfo", "review"):
            hrefs = [t["href"] for t in links[VOC + name] if t["type"] == "text/html"]
            assert [h.split("#")[0] for h in hrefs] == [BASE + codes[a] for a in above]
            assert all(t["href"].startswith(BASE + "/01/") for t in links[VOC + name])
        assert links[VOC + "defaultLink"] == [links[VOC + "pip"][0]]
        # Every JSON target answers JSON here.
        for target in links[VOC + "recallStatus"]:
            if target["type"] == "application/json":
                part = await client.get(target["href"].removeprefix(BASE))
                assert part.status_code == 200 and "recalled" in part.json()


async def test_unknown_link_type_answers_the_default(
    client: AsyncClient, codes: dict[str, str]
) -> None:
    for link_type in ("gs1:epil", "gs1:nonsense", "https://gs1.org/voc/pip"):
        page = await client.get(codes["batch"] + f"?linkType={link_type}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        data = await client.get(codes["batch"] + f"?linkType={link_type}", headers=JSON)
        assert data.json()["batch"]["lot"] == LOT


async def test_description_file(client: AsyncClient) -> None:
    answer = await client.get("/.well-known/gs1resolver", headers={"Host": "evil.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    description = answer.json()
    assert description["resolverRoot"] == BASE  # the public base URL, never the Host
    assert description["supportedPrimaryKeys"] == ["01"]
    assert description["supportedLinkType"] == [{"namespace": VOC, "prefix": "gs1:"}]
    assert set(description["activeLinkTypes"]["zh"]) == set(linkset.TITLES)
    assert (await client.head("/.well-known/gs1resolver")).status_code == 200


async def test_v1_reads_answer_head_options_and_cors(client: AsyncClient, uscc: str) -> None:
    get = await client.get(f"/v1/organizations/{uscc}/credit")
    head = await client.head(f"/v1/organizations/{uscc}/credit")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["access-control-allow-origin"] == "*"
    listing = await client.head("/v1/lists/red/publications")
    assert listing.status_code == 200 and listing.content == b""
    options = await client.options("/v1/lists/red/latest")
    assert options.status_code == 204 and "HEAD" in options.headers["allow"]
    # Writes are not shared cross-origin, nor is the console.
    write = await client.post(f"/v1/organizations/{uscc}/violations", json={})
    assert "access-control-allow-origin" not in write.headers
    assert "access-control-allow-origin" not in (await client.get("/console")).headers
