"""Console sign-in, cookie attributes, CSRF, revocation, expiry, logout, rate limit."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from httpx import AsyncClient
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.apikeys import service as auth_service
from app.console import sections, sessions
from app.core.principal import SYSTEM, Role
from tests.console.helpers import cookie_of, csrf_of, login
from tests.factories import make_key


async def test_login_sets_a_strict_host_cookie(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    page = await client.get("/console")
    assert page.status_code == 200 and 'name="key"' in page.text
    token = cookie_of(page, sessions.CSRF_COOKIE)
    key = regulator["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        "/console/login",
        data={"key": key, "csrf": csrf_of(page.text)},
        headers={"Cookie": f"{sessions.CSRF_COOKIE}={token}"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    header = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(sessions.COOKIE + "=")
    )
    value = header.split(";", 1)[0].split("=", 1)[1]
    assert len(value) == 32 and int(value, 16) >= 0  # 128 random bits, hex
    attributes = header.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # QCR_PUBLIC_BASE_URL is http here
    assert key not in header


async def test_secure_behind_https(app: FastAPI, client: AsyncClient) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"public_base_url": "https://qcr.example.org"}
    )
    page = await client.get("/console")
    header = next(h for h in page.headers.get_list("set-cookie"))
    assert "secure" in header.lower()


async def test_login_needs_its_csrf_token_and_a_regulator_key(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    key = regulator["Authorization"].removeprefix("Bearer ")
    client.cookies.clear()
    assert (await client.post("/console/login", data={"key": key})).status_code == 403
    page = await client.get("/console")
    cookie = {"Cookie": f"{sessions.CSRF_COOKIE}={cookie_of(page, sessions.CSRF_COOKIE)}"}
    form = {"csrf": csrf_of(page.text)}
    wrong = await client.post("/console/login", data=form | {"key": "qcr_nope"}, headers=cookie)
    assert wrong.status_code == 401 and "密钥无效" in wrong.text
    partner = await make_key(session, "partner")
    partner_key = partner["Authorization"].removeprefix("Bearer ")
    refused = await client.post("/console/login", data=form | {"key": partner_key}, headers=cookie)
    assert refused.status_code == 403
    assert partner_key not in refused.text


async def test_forms_without_the_csrf_token_are_403(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    cookie, csrf = await login(client, regulator)
    assert (await client.post("/console/logout", headers=cookie)).status_code == 403
    bad = await client.post("/console/logout", data={"csrf": csrf + "x"}, headers=cookie)
    assert bad.status_code == 403
    # Still signed in; the right token logs out, and the session is gone.
    assert "退出登录" in (await client.get("/console", headers=cookie)).text
    out = await client.post("/console/logout", data={"csrf": csrf}, headers=cookie)
    assert out.status_code == 303
    assert 'name="key"' in (await client.get("/console", headers=cookie)).text


async def test_a_revoked_key_ends_its_session_at_once(
    client: AsyncClient, session: AsyncSession
) -> None:
    created = await auth_service.create_key(
        session, SYSTEM, name="console", role=Role.regulator, uscc=None
    )
    await session.commit()
    cookie, _ = await login(client, {"Authorization": f"Bearer {created.secret}"})
    await auth_service.revoke_key(session, SYSTEM, created.key.id)
    await session.commit()
    page = await client.get("/console", headers=cookie)
    assert 'name="key"' in page.text and "退出登录" not in page.text


async def test_idle_and_total_lifetime(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    cookie, _ = await login(client, regulator)

    async def age(idle: int, total: int) -> bool:
        await session.execute(
            text(
                "UPDATE console_sessions SET last_seen_at = now() - make_interval(mins => :i), "
                "created_at = now() - make_interval(mins => :t)"
            ),
            {"i": idle, "t": total},
        )
        return "退出登录" in (await client.get("/console", headers=cookie)).text

    assert await age(29, 60)
    assert await age(1, 8 * 60 - 1)
    assert not await age(1, 8 * 60 + 1)
    assert not await age(31, 60)


async def test_logins_are_rate_limited(app: FastAPI, client: AsyncClient) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"rate_limit_console_login": "2/minute"}
    )
    codes = [(await client.post("/console/login", data={})).status_code for _ in range(3)]
    assert codes == [403, 403, 429]


async def test_sections_are_pluggable(client: AsyncClient, regulator: dict[str, str]) -> None:
    async def approvals(session: AsyncSession, principal: object) -> Markup:
        return Markup("<p id='plugged'>2 件待审批</p>")

    sections.register(sections.Section("approvals-test", "待审批事项", 30, approvals))
    try:
        cookie, _ = await login(client, regulator)
        home = (await client.get("/console", headers=cookie)).text
        assert "待审批事项" in home and "plugged" in home
        assert home.index("风险信号") < home.index("逾期投诉举报") < home.index("待审批事项")
    finally:
        sections._registry.pop("approvals-test")


def test_expiry_constants() -> None:
    assert dt.timedelta(minutes=30) == sessions.IDLE
    assert dt.timedelta(hours=8) == sessions.LIFETIME
