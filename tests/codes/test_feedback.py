"""Feedback: the no-JavaScript form and JSON, bounds, privacy of the contact, reading it back."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.codes.models import Feedback
from tests.codes.helpers import item_codes, make_product
from tests.factories import make_key, make_organization

JSON = {"Accept": "application/json"}


async def test_form_post_stores_feedback_and_shows_a_thank_you_page(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc)
    serial = paths[0].rsplit("/", 1)[1]
    response = await client.post(
        paths[0] + "/feedback",
        data={"rating": "4", "comment": "做工不错", "complaint": "true", "contact": "13800001111"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "感谢您的评价" in response.text
    assert f'href="../{serial}"' in response.text
    assert "13800001111" not in response.text
    stored = (await session.scalars(select(Feedback))).one()
    assert (stored.rating, stored.comment, stored.complaint, stored.contact) == (
        4,
        "做工不错",
        True,
        "13800001111",
    )
    assert stored.item_id is not None and stored.batch_id is not None
    assert len(stored.client_hash) == 16
    doc = (await client.get(paths[0], headers=JSON)).json()
    assert doc["feedback"] == {"count": 1, "average": 4.0}
    # The aggregate is per product: every code of the product shows it.
    assert (await client.get(f"/01/{gtin}", headers=JSON)).json()["feedback"]["count"] == 1
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "feedback.create"))
    assert audit is not None and audit.actor_role == "anonymous"
    assert "13800001111" not in str(audit.after)


async def test_json_post_returns_201_with_location(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(
        f"/01/{gtin}/feedback", json={"rating": 5, "comment": "很好"}, headers=JSON
    )
    assert response.status_code == 201
    body = response.json()
    assert body["rating"] == 5 and body["gtin"] == gtin and body["lot"] is None
    assert "contact" not in body
    assert response.headers["location"] == f"/v1/feedback/{body['id']}"
    read = await client.get(response.headers["location"], headers=regulator)
    assert read.json()["comment"] == "很好"


async def test_averages(client: AsyncClient, regulator: dict[str, str], uscc: str) -> None:
    gtin = await make_product(client, regulator, uscc)
    for rating in (5, 4, 4):
        await client.post(f"/01/{gtin}/feedback", json={"rating": rating})
    doc = (await client.get(f"/01/{gtin}", headers=JSON)).json()
    assert doc["feedback"] == {"count": 3, "average": 4.33}
    assert "共 3 条评价，平均 4.3 分" in (await client.get(f"/01/{gtin}")).text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({}, "rating"),
        ({"rating": 3, "comment": "好" * 501}, "comment"),
        ({"rating": 3, "contact": "1" * 101}, "contact"),
        ({"rating": 3, "complaint": "perhaps"}, "complaint"),
        ({"rating": 3, "extra": 1}, "extra"),
    ],
)
async def test_json_bounds_are_422(
    client: AsyncClient, regulator: dict[str, str], uscc: str, body: dict[str, object], field: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(f"/01/{gtin}/feedback", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


async def test_a_500_character_comment_is_accepted(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(f"/01/{gtin}/feedback", json={"rating": 1, "comment": "好" * 500})
    assert response.status_code == 201


async def test_bad_form_gets_an_html_page_naming_the_field(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(f"/01/{gtin}/feedback", data={"rating": "9", "comment": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "评分" in response.text and "评价未提交" in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"rating=3", "text/plain"),
        (b"x" * 20_000, "application/json"),
        (b"\xff\xfe=1", "application/x-www-form-urlencoded"),
        (b"&".join(b"f%d=1" % i for i in range(20)), "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_are_422(
    client: AsyncClient, regulator: dict[str, str], uscc: str, content: bytes, content_type: str
) -> None:
    gtin = await make_product(client, regulator, uscc)
    response = await client.post(
        f"/01/{gtin}/feedback", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 422


async def test_feedback_on_forged_or_unknown_codes_is_404(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, paths = await item_codes(client, regulator, uscc)
    forged = paths[0][:-1] + ("A" if paths[0][-1] != "A" else "B")
    for path in (forged, f"/01/{gtin}/10/NOPE", "/01/06901234567890"):
        response = await client.post(path + "/feedback", json={"rating": 5})
        assert response.status_code == 404
    # The code's own URI is read, not posted to (feedback goes to `…/feedback`).
    posted = await client.post(paths[0], json={"rating": 5})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_reading_feedback_by_role(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    enterprise = await make_key(session, "enterprise", uscc)
    gtin = await make_product(client, regulator, uscc)
    await client.post(f"/01/{gtin}/feedback", json={"rating": 5})
    await client.post(
        f"/01/{gtin}/feedback", json={"rating": 1, "complaint": True, "contact": "微信 abc123"}
    )
    other = await make_organization(session)
    other_gtin = await make_product(client, regulator, other)
    await client.post(f"/01/{other_gtin}/feedback", json={"rating": 3})

    as_regulator = await client.get(f"/v1/feedback?uscc={uscc}", headers=regulator)
    # (Every request of a test shares one transaction, hence one timestamp: no order here.)
    items = sorted(as_regulator.json()["items"], key=lambda i: i["rating"])
    assert [i["rating"] for i in items] == [1, 5]
    assert items[0]["contact"] == "微信 abc123" and items[1]["contact"] is None
    assert items[0]["uscc"] == uscc and items[0]["product_name"] == "电热水壶"

    own = await client.get("/v1/feedback", headers=enterprise)
    assert sorted(i["rating"] for i in own.json()["items"]) == [1, 5]
    assert all("contact" not in i for i in own.json()["items"])
    complaints = await client.get("/v1/feedback?complaint=true", headers=enterprise)
    assert [i["rating"] for i in complaints.json()["items"]] == [1]

    assert (await client.get(f"/v1/feedback?uscc={other}", headers=enterprise)).status_code == 403
    other_id = (await client.get(f"/v1/feedback?uscc={other}", headers=regulator)).json()["items"][
        0
    ]["id"]
    assert (await client.get(f"/v1/feedback/{other_id}", headers=enterprise)).status_code == 404
    assert (await client.get("/v1/feedback")).status_code == 401
    partner = await make_key(session, "partner")
    assert (await client.get("/v1/feedback", headers=partner)).status_code == 403


async def test_feedback_pages(client: AsyncClient, regulator: dict[str, str], uscc: str) -> None:
    gtin = await make_product(client, regulator, uscc)
    for rating in (1, 2, 3, 4, 5):
        await client.post(f"/01/{gtin}/feedback", json={"rating": rating})
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"gtin": gtin, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/feedback", params=params, headers=regulator)).json()
        seen += [i["rating"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [1, 2, 3, 4, 5] and len(seen) == 5
    bad = await client.get("/v1/feedback?cursor=abc", headers=regulator)
    assert bad.status_code == 422


def test_a_boolean_is_not_a_rating() -> None:
    import pytest
    from pydantic import ValidationError

    from app.codes.schemas import FeedbackCreate

    with pytest.raises(ValidationError, match="not a boolean"):
        FeedbackCreate.model_validate({"rating": True})
    assert FeedbackCreate.model_validate({"rating": "4"}).rating == 4
