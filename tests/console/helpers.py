from __future__ import annotations

import re

from httpx import AsyncClient, Response

from app.console import sessions


def cookie_of(response: Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie set")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def login(client: AsyncClient, headers: dict[str, str]) -> tuple[dict[str, str], str]:
    """Sign in with the key of `headers`; returns the session cookie header and the CSRF token."""
    client.cookies.clear()
    page = await client.get("/console")
    token = cookie_of(page, sessions.CSRF_COOKIE)
    key = headers["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        "/console/login",
        data={"key": key, "csrf": csrf_of(page.text)},
        headers={"Cookie": f"{sessions.CSRF_COOKIE}={token}"},
    )
    assert response.status_code == 303, response.text
    cookie = {"Cookie": f"{sessions.COOKIE}={cookie_of(response, sessions.COOKIE)}"}
    client.cookies.clear()
    home = await client.get("/console", headers=cookie)
    assert (
        home.status_code == 200
        and "监管工作台" in home.text
        and 'action="/console/logout"' in home.text
    )
    return cookie, csrf_of(home.text)
