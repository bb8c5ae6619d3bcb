"""The public resolver: content, recalls first, credit, forgeries, negotiation, caching."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.codes import resolution
from app.codes.serials import SERIAL_LENGTH
from tests.codes.helpers import (
    code_path,
    codes_csv,
    issue,
    item_codes,
    make_batch,
    make_product,
    random_gtin,
    report,
)
from tests.records.helpers import inspection, recall, violation

JSON = {"Accept": "application/json"}
KEYS = {"product", "producer", "batch", "credit", "recalls", "item", "feedback"}


async def _recall(
    client: AsyncClient, regulator: dict[str, str], uscc: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/organizations/{uscc}/recalls", json=recall(**overrides), headers=regulator
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _forge(path: str) -> str:
    serial = path.rsplit("/", 1)[1]
    flipped = serial[:-1] + ("B" if serial[-1] == "A" else "A")
    return path[: -len(serial)] + flipped


async def test_item_json_has_exactly_the_contract_keys(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc)
    response = await client.get(paths[0], headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert set(doc) == KEYS
    assert doc["product"]["gtin"] == gtin
    assert doc["product"]["name"] == "电热水壶"
    assert doc["product"]["execution_standard"] == "GB 4706.19-2008"
    assert doc["producer"]["uscc"] == uscc
    assert doc["producer"]["factory_name"] == "宁波金鼎电器有限公司第二工厂"
    assert doc["batch"]["lot"] == "L1"
    assert doc["batch"]["inspection_reports"][0]["result"] == "pass"
    assert doc["credit"]["grade"] == "B"
    assert doc["credit"]["a_level"] is False
    assert doc["recalls"] == []
    assert doc["item"]["scan_count"] == 1
    assert doc["item"]["first_scanned_at"] is not None
    assert doc["item"]["suspicious"] is False
    assert doc["feedback"] == {"count": 0, "average": None}
    # The same with ?format=json and any Accept.
    again = await client.get(paths[0] + "?format=json", headers={"Accept": "text/html"})
    assert set(again.json()) == KEYS
    assert again.json()["item"]["scan_count"] == 2


async def test_product_and_batch_levels(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    await make_batch(client, regulator, gtin, "L/9")
    product = await client.get(f"/01/{gtin}", headers=JSON)
    assert product.status_code == 200
    assert product.json()["batch"] is None and product.json()["item"] is None
    # GTIN-13 is accepted in the path too.
    assert (await client.get(f"/01/{gtin[1:]}", headers=JSON)).status_code == 200
    batch = await client.get(f"/01/{gtin}/10/L%2F9", headers=JSON)
    assert batch.status_code == 200
    assert batch.json()["batch"]["lot"] == "L/9"
    assert batch.json()["batch"]["uri"] == f"http://localhost:8000/01/{gtin}/10/L%2F9"
    assert batch.json()["item"] is None


async def test_no_private_data_on_the_public_page(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    await client.post(
        paths[0] + "/feedback",
        json={"rating": 2, "comment": "壶盖松动", "complaint": True, "contact": "13800001111"},
    )
    await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(description="内部案情绝密"),
        headers=regulator,
    )
    for headers in (JSON, {}):
        text = (await client.get(paths[0], headers=headers)).text
        for secret in ("李秘密", "legal_representative", "13800001111", "内部案情绝密"):
            assert secret not in text
    json = (await client.get(paths[0], headers=JSON)).text
    assert "contact" not in json and "description" not in json


async def test_ongoing_recall_for_the_lot_comes_first(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc, lot="L1")
    await make_batch(client, regulator, gtin, "L2")
    await issue(client, regulator, gtin, "L2", 1)
    other_lot_path = code_path((await codes_csv(client, regulator, gtin, "L2"))[0])
    recalled = await _recall(
        client, regulator, uscc, gtin=gtin, lots=["L1"], remedy="免费更换加热底座", hazard_class=1
    )
    await _recall(client, regulator, uscc, gtin=gtin, lots=["L1"], status="completed")

    doc = (await client.get(paths[0], headers=JSON)).json()
    assert [r["recall_no"] for r in doc["recalls"]] == [recalled["recall_no"]]
    assert doc["recalls"][0]["remedy"] == "免费更换加热底座"

    page = await client.get(paths[0])
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    main = html[html.index("<main") :]
    first_section = main[: main.index("</section>")]
    assert 'class="alert alert-recall"' in first_section
    assert 'role="alert"' in first_section
    assert "召回警告" in first_section and "免费更换加热底座" in first_section
    assert main.index("alert-recall") < main.index("<h1>")

    other = (await client.get(other_lot_path, headers=JSON)).json()
    assert other["recalls"] == []
    assert "alert-recall" not in (await client.get(other_lot_path)).text
    # The product-level code shows every ongoing recall of the GTIN.
    product = (await client.get(f"/01/{gtin}", headers=JSON)).json()
    assert [r["recall_no"] for r in product["recalls"]] == [recalled["recall_no"]]


async def test_recall_of_every_lot_covers_each_batch(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc, lot="ANY-LOT")
    await _recall(client, regulator, uscc, gtin=gtin, lots=None)
    assert len((await client.get(paths[0], headers=JSON)).json()["recalls"]) == 1
    # A recall recorded after a first view shows at once: the page is not cached stale.
    response = await client.get(paths[0])
    assert response.headers["cache-control"] == "no-cache"


async def test_credit_badges_and_black_list_warning(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(severity="serious"),
        headers=regulator,
    )
    doc = (await client.get(paths[0], headers=JSON)).json()
    assert doc["credit"]["grade"] == "D"
    assert doc["credit"]["black_list"] is True
    assert "S1" in {r["rule_id"] for r in doc["credit"]["reasons"]}
    html = (await client.get(paths[0])).text
    assert 'class="alert alert-black"' in html and "黑名单" in html
    assert "badge-black" in html


async def test_a_level_badge(client: AsyncClient, regulator: dict[str, str], uscc: str) -> None:
    from tests.records.helpers import grade

    _, paths = await item_codes(client, regulator, uscc)
    await client.post(
        f"/v1/organizations/{uscc}/grades", json=grade(grade="AAA"), headers=regulator
    )
    doc = (await client.get(paths[0], headers=JSON)).json()
    assert doc["credit"]["a_level"] is True and doc["credit"]["red_list"] is True
    html = (await client.get(paths[0])).text
    assert "A级守信" in html and "badge-red" in html and "AAA 级" in html


async def test_inspections_are_shown(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    await make_batch(
        client, regulator, gtin, "L1", inspection_reports=[report(report_no="WT-2026-001")]
    )
    await client.post(
        f"/v1/organizations/{uscc}/inspections",
        json=inspection(gtin=gtin, lot="L1", report_no="CJ-1"),
        headers=regulator,
    )
    await client.post(
        f"/v1/organizations/{uscc}/inspections",
        json=inspection(gtin=gtin, lot="L2", report_no="CJ-OTHER-LOT"),
        headers=regulator,
    )
    doc = (await client.get(f"/01/{gtin}/10/L1", headers=JSON)).json()
    assert [i["report_no"] for i in doc["product"]["inspections"]] == ["CJ-1"]
    html = (await client.get(f"/01/{gtin}/10/L1")).text
    assert "WT-2026-001" in html and "CJ-1" in html and "不合格" in html


async def test_forged_serial_is_rejected_without_a_database_statement(
    client: AsyncClient, regulator: dict[str, str], uscc: str, connection: AsyncConnection
) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    queries: list[str] = []

    def log(record: Any) -> None:
        queries.append(record.query)

    driver.add_query_logger(log)
    try:
        forged = _forge(paths[0])
        html = await client.get(forged)
        json = await client.get(forged, headers=JSON)
        counted_forged = list(queries)
        genuine = await client.get(paths[0], headers=JSON)
    finally:
        driver.remove_query_logger(log)
    assert counted_forged == []
    assert len(queries) > 0  # the counter does see a genuine lookup
    assert genuine.status_code == 200
    assert html.status_code == 404
    assert "不是本平台签发的正品码" in html.text
    assert json.status_code == 404
    assert json.headers["content-type"] == "application/problem+json"
    assert json.json()["genuine"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/01/06901234567890",  # check digit
        "/01/0690123456789",  # length
        "/01/ABC",
        "/01/",
        "/01/06901234567892/21/X",  # serial without a lot
        "/01/06901234567892/10/L1/21/" + "A" * SERIAL_LENGTH,
        "/01/06901234567892/10/%E6%89%B9/21/X",
        "/01/06901234567892/10/L%zz",
        "/01/06901234567892/10/" + "L" * 21,
    ],
)
async def test_malformed_or_unknown_codes_are_not_genuine(client: AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "正品码" in response.text


async def test_unknown_product_or_lot_is_not_genuine(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    assert (await client.get(f"/01/{gtin}", headers=JSON)).status_code == 200
    lot = await client.get(f"/01/{gtin}/10/NOPE", headers=JSON)
    assert lot.status_code == 404
    assert lot.json()["genuine"] is False
    unregistered = random_gtin()
    while unregistered == gtin:
        unregistered = random_gtin()
    product = await client.get(f"/01/{unregistered}", headers=JSON)
    assert product.status_code == 404
    assert product.json()["genuine"] is False


async def test_head_etag_and_cache_headers(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    path = f"/01/{gtin}"
    get = await client.get(path)
    assert get.headers["cache-control"] == "no-cache"
    assert get.headers["vary"] == "Accept"
    assert get.headers["link"].endswith('rel="linkset"; type="application/linkset+json"')
    etag = get.headers["etag"]
    head = await client.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(get.content)
    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    head_json = await client.head(path, headers=JSON)
    assert head_json.headers["content-type"] == "application/json"
    assert (await client.head(path + "/10/NOPE")).status_code == 404


async def test_head_does_not_count_a_scan(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    await client.head(paths[0])
    assert (await client.get(paths[0], headers=JSON)).json()["item"]["scan_count"] == 1


async def test_linkset(client: AsyncClient, regulator: dict[str, str], uscc: str) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    for query, headers in (
        ("?linkType=all", {}),
        ("?linkType=linkset", {}),
        ("", {"Accept": "application/linkset+json"}),
    ):
        response = await client.get(paths[0] + query, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/linkset+json"
        linkset = response.json()["linkset"]
        assert len(linkset) == 1
        links = linkset[0]
        anchor = "http://localhost:8000" + paths[0]
        assert links["anchor"] == anchor
        for name in ("pip", "recallStatus", "certificationInfo", "review", "defaultLink"):
            targets = links[f"https://gs1.org/voc/{name}"]
            own = targets[:2] if name != "defaultLink" else targets
            assert all(t["href"].startswith(anchor) and t["title"] for t in own)
            assert all(t["hreflang"] == ["zh-CN"] for t in targets)
        assert links["https://gs1.org/voc/pip"][0] == {
            "href": anchor,
            "title": "产品信息",
            "type": "text/html",
            "hreflang": ["zh-CN"],
        }
        assert links["https://gs1.org/voc/recallStatus"][1]["href"] == (
            anchor + "?linkType=gs1:recallStatus&format=json"
        )
    # Reading the linkset is not a scan.
    assert (await client.get(paths[0], headers=JSON)).json()["item"]["scan_count"] == 1


async def test_link_types_answer_their_part_or_redirect(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc)
    await _recall(client, regulator, uscc, gtin=gtin, lots=None)
    serial = paths[0].rsplit("/", 1)[1]
    recall_part = await client.get(paths[0] + "?linkType=gs1:recallStatus", headers=JSON)
    assert recall_part.json()["recalled"] is True
    assert len(recall_part.json()["recalls"]) == 1
    full_uri = await client.get(
        paths[0] + "?linkType=https://gs1.org/voc/certificationInfo&format=json"
    )
    assert full_uri.json()["inspection_reports"][0]["result"] == "pass"
    review = await client.get(paths[0] + "?linkType=gs1:review&format=json")
    assert review.json()["form"]["href"].endswith(serial + "/feedback")
    for link_type, section in (
        ("gs1:recallStatus", "recalls"),
        ("gs1:certificationInfo", "inspections"),
        ("gs1:review", "feedback"),
    ):
        redirect = await client.get(paths[0] + f"?linkType={link_type}")
        assert redirect.status_code == 307
        assert redirect.headers["location"] == f"http://localhost:8000{paths[0]}#{section}"
        assert serial in redirect.headers["location"]
    # The default link type, and ones this resolver has not, answer the page.
    for link_type in ("gs1:pip", "gs1:epil"):
        assert (await client.get(paths[0] + f"?linkType={link_type}")).status_code == 200
    assert (await client.get(paths[0] + "?format=xml")).status_code == 422
    assert (await client.get(paths[0] + "?linkType=" + "x" * 201)).status_code == 422


async def test_html_page_is_chinese_and_mobile_first(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc)
    html = (await client.get(paths[0], headers={"Accept": "text/html,*/*;q=0.8"})).text
    assert '<html lang="zh-CN">' in html
    assert 'name="viewport"' in html
    assert "<script" not in html and "style=" not in html
    for text in (
        "正品码",
        "产品信息",
        "执行标准",
        "生产企业",
        "信用等级",
        "扫码次数",
        "消费者评价",
    ):
        assert text in html
    serial = paths[0].rsplit("/", 1)[1]
    assert f'action="./{serial}/feedback"' in html
    assert 'method="post"' in html


async def test_scan_records_keep_no_raw_address(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    from sqlalchemy import select

    from app.codes.models import ItemScan

    _, paths = await item_codes(client, regulator, uscc)
    await client.get(paths[0], headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"})
    await client.get(paths[0], headers={"User-Agent": "Googlebot/2.1"})
    scans = (await session.scalars(select(ItemScan).order_by(ItemScan.id))).all()
    assert [s.agent for s in scans] == ["mobile", "bot"]
    for scan in scans:
        assert len(scan.client_hash) == 16
        assert b"127.0.0.1" not in scan.client_hash
    # The bot is logged but not counted.
    assert (await client.get(paths[0], headers=JSON)).json()["item"]["scan_count"] == 2


async def test_an_item_whose_lot_needs_percent_encoding(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, lot="B/2026:11%")
    assert "/10/B%2F2026%3A11%25/21/" in paths[0]
    doc = (await client.get(paths[0], headers=JSON)).json()
    assert doc["batch"]["lot"] == "B/2026:11%"
    assert doc["item"]["uri"] == "http://localhost:8000" + paths[0]
    response = await client.post(paths[0] + "/feedback", json={"rating": 3})
    assert response.status_code == 201 and response.json()["lot"] == "B/2026:11%"


@pytest.mark.parametrize(
    "item",
    [
        None,
        {"serial": "S1", "uri": "https://x/01/1/10/L/21/S1", "scan_count": 3, "suspicious": False},
    ],
)
def test_the_json_answer_is_the_document_encoded_around_its_item(
    item: dict[str, Any] | None,
) -> None:
    """The cached document's encoded head and tail and the item between them are,
    byte for byte, the whole document encoded at once (in the contract's key order)."""
    parts = {
        "product": {"gtin": "06901234567892", "name": '电热水壶 "X"', "inspections": []},
        "producer": {"uscc": "91350100M000100Y43", "name": "厂"},
        "batch": None,
        "credit": {"grade": "A", "reasons": [{"rule": "G1"}]},
        "recalls": [{"recall_no": "R-1", "lots": None}],
        "feedback": {"count": 2, "average": 4.5},
    }
    head, tail = resolution._around_item(parts)
    doc = resolution.BatchDocument(uuid.uuid4(), uuid.uuid4(), None, "g", None, parts, head, tail)
    encoded = doc.json(item)
    assert encoded == orjson.dumps(resolution.document(parts, item))
    assert list(orjson.loads(encoded)) == [
        "product",
        "producer",
        "batch",
        "credit",
        "recalls",
        "item",
        "feedback",
    ]
