"""Subscriptions: create (secret shown once), read, delete, enable, rotate the
secret; and the target rules at registration (SSRF)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.partners import targets
from tests.factories import make_key, make_organization

HOOK = "http://127.0.0.1:9/hook"


async def subscribe(client: AsyncClient, headers: dict[str, str], **body: object) -> dict[str, Any]:
    payload = {"url": HOOK, "events": ["list.exited", "credit.changed"]} | body
    response = await client.post("/v1/subscriptions", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_shows_the_secret_once(
    private_client: AsyncClient, partner: dict[str, str]
) -> None:
    created = await subscribe(private_client, partner)
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "enabled"
    one = await private_client.get(f"/v1/subscriptions/{created['id']}", headers=partner)
    assert one.status_code == 200
    assert "secret" not in one.json()
    listed = await private_client.get("/v1/subscriptions", headers=partner)
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]


async def test_another_partner_sees_nothing_of_it(
    private_client: AsyncClient, session: AsyncSession, partner: dict[str, str]
) -> None:
    created = await subscribe(private_client, partner)
    other = await make_key(session, "partner")
    assert (await private_client.get("/v1/subscriptions", headers=other)).json()["items"] == []
    path = f"/v1/subscriptions/{created['id']}"
    assert (await private_client.get(path, headers=other)).status_code == 404
    assert (await private_client.delete(path, headers=other)).status_code == 404
    assert (await private_client.post(f"{path}/rotate-secret", headers=other)).status_code == 404
    enterprise = await make_key(session, "enterprise", uscc=await make_organization(session))
    assert (await private_client.get(path, headers=enterprise)).status_code == 403


async def test_delete_then_gone(private_client: AsyncClient, partner: dict[str, str]) -> None:
    created = await subscribe(private_client, partner)
    path = f"/v1/subscriptions/{created['id']}"
    assert (await private_client.delete(path, headers=partner)).status_code == 204
    assert (await private_client.get(path, headers=partner)).status_code == 404


async def test_rotate_keeps_the_old_secret_for_24_hours(
    private_client: AsyncClient, partner: dict[str, str]
) -> None:
    created = await subscribe(private_client, partner)
    path = f"/v1/subscriptions/{created['id']}"
    rotated = await private_client.post(f"{path}/rotate-secret", headers=partner)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    expires = dt.datetime.fromisoformat(body["previous_secret_expires_at"])
    assert dt.timedelta(hours=23, minutes=59) < expires - dt.datetime.now(dt.UTC)
    assert expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    notices = await private_client.get(f"{path}/notices", headers=partner)
    assert [n["type"] for n in notices.json()["items"]] == ["subscription.secret_rotated"]


async def test_measures_must_exist_and_bring_list_exited(
    private_client: AsyncClient, partner: dict[str, str]
) -> None:
    unknown = await private_client.post(
        "/v1/subscriptions",
        json={"url": HOOK, "events": ["list.exited"], "measures": [str(ipaddress.IPv4Address(0))]},
        headers=partner,
    )
    assert unknown.status_code == 422
    bad_event = await private_client.post(
        "/v1/subscriptions", json={"url": HOOK, "events": ["list.moved"]}, headers=partner
    )
    assert bad_event.status_code == 422
    assert bad_event.json()["errors"][0]["field"].startswith("events")
    empty = await private_client.post(
        "/v1/subscriptions", json={"url": HOOK, "events": []}, headers=partner
    )
    assert empty.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",  # CGNAT
        "https://[::1]/hook",
        "https://[fd00::1]/hook",  # ULA
        "https://[fe80::1]/hook",  # link-local
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
        "https://localhost/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
    ],
)
async def test_private_targets_are_refused_without_the_flag(
    client: AsyncClient, partner: dict[str, str], url: str
) -> None:
    response = await client.post(
        "/v1/subscriptions", json={"url": url, "events": ["credit.changed"]}, headers=partner
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/hook",
        "ftp://8.8.8.8/x",
        "https://user:pw@8.8.8.8/",
        "hook",
        # Spaces and control characters: the dispatcher's client could never send
        # to such a URL, and its subscription would stall, never failed or disabled.
        "https://8.8.8.8/x\x01",
        "https://8.8.8.8/x\x7f",
        "https://8.8.8.8/a b",
    ],
)
async def test_only_well_formed_https_urls(
    client: AsyncClient, partner: dict[str, str], url: str
) -> None:
    response = await client.post(
        "/v1/subscriptions", json={"url": url, "events": ["credit.changed"]}, headers=partner
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"


def test_global_unicast_rules() -> None:
    def ok(text: str) -> bool:
        return targets.is_global_unicast(ipaddress.ip_address(text))

    assert ok("8.8.8.8") and ok("2606:4700:4700::1111")
    assert not ok("100.127.255.255") and ok("100.128.0.0")  # CGNAT's last and the next
    assert not ok("::ffff:10.0.0.1") and ok("::ffff:8.8.8.8")
    assert not ok("fc00::1") and not ok("fe80::1") and not ok("ff02::1")
