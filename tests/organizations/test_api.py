"""Organization endpoints: create/update, lookup by either code, search, views by role."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.organizations.models import Organization
from tests.factories import make_key, make_organization, random_uscc

USCC = "91110000600037341L"


async def test_put_creates_then_updates(client: AsyncClient, regulator: dict[str, str]) -> None:
    body = {"name": "北京测试食品有限公司", "legal_representative": "李四", "industry_code": "C14"}
    created = await client.put(f"/v1/organizations/{USCC}", json=body, headers=regulator)
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/organizations/{USCC}"
    org = created.json()
    assert org["org_code"] == "600037341"
    assert org["region_code"] == "110000"  # derived from the USCC
    assert org["version"] == 1

    updated = await client.put(
        f"/v1/organizations/{USCC}", json=body | {"address": "北京市朝阳区"}, headers=regulator
    )
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    assert updated.json()["address"] == "北京市朝阳区"
    assert updated.json()["id"] == org["id"]


async def test_put_with_stale_if_match_is_412(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    first = await client.put(f"/v1/organizations/{USCC}", json={"name": "甲"}, headers=regulator)
    etag = first.headers["etag"]
    await client.put(f"/v1/organizations/{USCC}", json={"name": "乙"}, headers=regulator)
    stale = await client.put(
        f"/v1/organizations/{USCC}", json={"name": "丙"}, headers=regulator | {"If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await client.get(f"/v1/organizations/{USCC}")).json()["name"] == "乙"


async def test_put_requires_the_18_character_uscc(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    response = await client.put(
        "/v1/organizations/600037341", json={"name": "x"}, headers=regulator
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "code"


async def test_put_rejects_unknown_and_server_owned_fields(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    for extra in ({"id": "x"}, {"version": 7}, {"uscc": USCC}, {"created_at": "2020-01-01"}):
        response = await client.put(
            f"/v1/organizations/{USCC}", json={"name": "甲"} | extra, headers=regulator
        )
        assert response.status_code == 422, extra
        assert response.json()["errors"][0]["field"] == next(iter(extra))
    assert await session.scalar(select(func.count()).select_from(Organization)) == 0


async def test_invalid_bodies_are_422_naming_the_field(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "x", "status": "closed"}, "status"),
        ({"name": "x", "region_code": "11"}, "region_code"),
        ({"name": "x", "industry_code": "Z99"}, "industry_code"),
        ({}, "name"),
    ]
    for body, field in cases:
        response = await client.put(f"/v1/organizations/{USCC}", json=body, headers=regulator)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


async def test_malformed_json_is_422(client: AsyncClient, regulator: dict[str, str]) -> None:
    response = await client.put(
        f"/v1/organizations/{USCC}",
        content=b'{"name": ',
        headers=regulator | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation")


async def test_lookup_by_uscc_legacy_code_hyphen_and_full_width(
    client: AsyncClient, session: AsyncSession
) -> None:
    await make_organization(session, uscc=USCC, name="北京测试有限公司")
    for code in [
        USCC,
        "600037341",
        "60003734-1",
        "６０００３７３４－１",
        USCC.lower(),
        "９１１１００００６０００３７３４１Ｌ",
    ]:
        response = await client.get(f"/v1/organizations/{quote(code)}")
        assert response.status_code == 200, code
        assert response.json()["uscc"] == USCC


async def test_invalid_codes_are_422_with_the_reason(client: AsyncClient) -> None:
    cases = {
        "91110000600037341X": "check character mismatch: expected 'L', got 'X'",
        "9111000060003734": "got 16 characters",
        "91110000600O37341L": "character 'O' at position 12",
        "600037342": "expected '1', got '2'",
    }
    for code, reason in cases.items():
        response = await client.get(f"/v1/organizations/{code}")
        assert response.status_code == 422
        problem = response.json()
        assert problem["status"] == 422
        assert problem["errors"][0]["field"] == "code"
        assert reason in problem["errors"][0]["message"]


async def test_unknown_valid_code_is_404(client: AsyncClient) -> None:
    response = await client.get(f"/v1/organizations/{USCC}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_views_by_role(client: AsyncClient, session: AsyncSession) -> None:
    await make_organization(session, uscc=USCC, legal_representative="王五")
    other = await make_organization(session)
    headers = {
        "anonymous": {},
        "partner": await make_key(session, "partner"),
        "other enterprise": await make_key(session, "enterprise", other),
        "own enterprise": await make_key(session, "enterprise", USCC),
        "regulator": await make_key(session, "regulator"),
        "admin": await make_key(session, "admin"),
    }
    sees = {"own enterprise", "regulator", "admin"}
    for who, header in headers.items():
        response = await client.get(f"/v1/organizations/{USCC}", headers=header)
        assert response.status_code == 200
        assert ("legal_representative" in response.json()) is (who in sees), who
        assert ("王五" in response.text) is (who in sees), who
        listing = await client.get("/v1/organizations", headers=header)
        assert ("王五" in listing.text) is (who in sees), who


async def test_search_by_chinese_substring(client: AsyncClient, session: AsyncSession) -> None:
    await make_organization(session, name="杭州恒瑞食品有限公司")
    await make_organization(session, name="深圳龙腾电器有限公司")
    await make_organization(session, name="杭州龙腾纺织有限公司")

    async def names(q: str) -> set[str]:
        response = await client.get("/v1/organizations", params={"q": q})
        assert response.status_code == 200
        return {item["name"] for item in response.json()["items"]}

    assert await names("龙腾") == {"深圳龙腾电器有限公司", "杭州龙腾纺织有限公司"}
    assert await names("杭州龙腾") == {"杭州龙腾纺织有限公司"}
    assert await names("食") == {"杭州恒瑞食品有限公司"}
    assert await names("恒瑞食品有限") == {"杭州恒瑞食品有限公司"}
    assert await names("腾食") == set()  # both pairs exist, the substring does not
    assert await names("100%") == set()


async def test_search_by_region_prefix(client: AsyncClient, session: AsyncSession) -> None:
    hz = await make_organization(session, uscc=random_uscc("330106"))
    await make_organization(session, uscc=random_uscc("440305"))
    response = await client.get("/v1/organizations", params={"region": "33"})
    assert [item["uscc"] for item in response.json()["items"]] == [hz]
    assert (await client.get("/v1/organizations", params={"region": "3a"})).status_code == 422


async def test_pagination_walks_every_item_once(client: AsyncClient, session: AsyncSession) -> None:
    made = {await make_organization(session) for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/organizations", params=params)).json()
        seen += [item["uscc"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)


async def test_page_size_bound(client: AsyncClient) -> None:
    response = await client.get("/v1/organizations", params={"limit": 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"
    assert "200" in response.json()["errors"][0]["message"]
    bad_cursor = await client.get("/v1/organizations", params={"cursor": "!!"})
    assert bad_cursor.status_code == 422


async def test_every_write_is_audited(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    await client.put(
        f"/v1/organizations/{USCC}",
        json={"name": "甲", "legal_representative": "赵六"},
        headers=regulator,
    )
    await client.put(f"/v1/organizations/{USCC}", json={"name": "乙"}, headers=regulator)
    entries = (
        await session.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before))
    ).all()
    assert [e.action for e in entries] == ["organization.create", "organization.update"]
    assert entries[1].before is not None and entries[1].before["name"] == "甲"
    assert entries[1].after is not None and entries[1].after["name"] == "乙"
    assert entries[1].actor_role == "regulator"
    assert entries[1].actor_key_id is not None
    # Personal data enters the log only as SHA-256(salt ‖ value), the salt in the row.
    org = await session.scalar(select(Organization).where(Organization.uscc == USCC))
    assert org is not None
    digest = hashlib.sha256(org.private_salt + "赵六".encode()).hexdigest()
    assert entries[0].after is not None
    assert entries[0].after["legal_representative"] == digest
    assert "赵六" not in entries[0].leaf.decode()


async def test_search_by_grade_and_a_level(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    from tests.records.helpers import grade

    top = await make_organization(session, name="甲级公司")
    plain = await make_organization(session, name="普通公司")
    await client.post(f"/v1/organizations/{top}/grades", json=grade(grade="AAA"), headers=regulator)

    async def found(**params: str) -> set[str]:
        response = await client.get("/v1/organizations", params=params)
        assert response.status_code == 200
        return {item["uscc"] for item in response.json()["items"]}

    assert await found(grade="AAA") == {top}
    assert await found(a_level="true") == {top}
    assert plain in await found(a_level="false")
    assert top not in await found(a_level="false")
    assert await found(grade="B", q="普通") == {plain}
    assert (await client.get("/v1/organizations", params={"grade": "E"})).status_code == 422
