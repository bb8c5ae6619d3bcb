"""Review findings of issue #13 that are about the contract as a client sees it:
redirects, dates, 405, the feedback body. Each names what it used to answer."""

from __future__ import annotations

from httpx import AsyncClient

from tests.conftest import make_organization
from tests.security.dataset import Dataset


async def test_no_redirect_reflects_the_host_header(client: AsyncClient) -> None:
    """Was 307 to `http://evil.example/v1/organizations`: Starlette's slash redirect
    built the Location from the Host header (SPEC §8: Host headers are not trusted)."""
    for path in ("/v1/organizations/", "/lists/", "/v1/policies/"):
        response = await client.get(path, headers={"Host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", ""), path
        assert response.status_code in (404, 200), (path, response.status_code)
