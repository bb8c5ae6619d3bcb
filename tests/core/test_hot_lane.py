"""The hot routes' own door (app/core/hotroute.py `HotApp`): a bodiless read that
a hot route matches skips the layers with nothing to do for it, and is answered
exactly as through every layer (same status, body, headers and errors)."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import Request, Response
from httpx import ASGITransport, AsyncClient
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core import cors, errors, hotroute
from app.core.errors import NotFound
from app.core.middleware import RequestContextMiddleware
from tests.codes.helpers import committed_item_code
from tests.factories import committed_key

FULL_WAY = {"Content-Length": "0"}  # announces a body: every layer, as before
VARYING = {"date", "x-request-id"}


def _same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    assert {k: v for k, v in a.headers.items() if k not in VARYING} == {
        k: v for k, v in b.headers.items() if k not in VARYING
    }
    assert a.headers["x-request-id"] and b.headers["x-request-id"]


async def test_hot_reads_answer_alike_through_either_door(
    committed_client: AsyncClient, engine: Any
) -> None:
    uscc, path = await committed_item_code(committed_client, engine)
    regulator = await committed_key(engine, "regulator")
    batch = path.rsplit("/21/", 1)[0]  # a batch-level code: read, not scanned
    for path, headers in (
        (f"/v1/organizations/{uscc}/credit", {}),
        (f"/v1/organizations/{uscc}/credit", regulator),
        (f"/v1/organizations/{uscc}/credit?as_of=2026-01-01", {"Origin": "https://a.example"}),
        ("/v1/organizations/91110000600037341X/credit", {}),  # 422, check character
        (batch, {"Accept": "application/json", "Origin": "https://a.example"}),
        (batch, {"Accept": "text/html"}),
        (batch + "?linkType=all", {}),
        (batch[:-1] + "Z", {"Accept": "application/json"}),  # unknown lot: 404
        (batch + "?format=xml", {}),  # 422
        (batch + "?linkType=%00", {}),  # the text guard's 422
    ):
        lane = await committed_client.get(path, headers=headers)
        every = await committed_client.get(path, headers=headers | FULL_WAY)
        _same(lane, every)


class Counting:
    """A layer that may be skipped (like the body bound): counts who passed it."""

    HOT_LANE = False
    passed: ClassVar[list[str]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            Counting.passed.append(scope["path"])
        await self.app(scope, receive, send)


async def _hot(request: Request) -> Response:
    if request.query_params.get("fail") == "registry":
        raise NotFound("no such thing")
    if request.query_params.get("fail") == "bug":
        raise RuntimeError("a bug")
    return Response(b"hot", media_type="text/plain")


def _app() -> hotroute.HotApp:
    app = hotroute.HotApp()
    errors.install(app)
    app.add_middleware(Counting)
    app.add_middleware(RequestContextMiddleware)
    cors.install_cors(app)

    @app.get("/cold")
    async def cold() -> dict[str, str]:
        return {"cold": "yes"}

    hotroute.install(app, hotroute.HotRoute("/v1/hot", _hot, methods=["GET"]))
    return app


async def test_the_door_skips_only_what_may_be_skipped_and_errors_are_the_same() -> None:
    Counting.passed.clear()
    transport = ASGITransport(app=_app(), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        lane = await client.get("/v1/hot", headers={"Origin": "https://a.example"})
        assert lane.text == "hot"
        assert lane.headers["access-control-allow-origin"] == "*"  # CORS: kept
        assert lane.headers["x-request-id"]  # the request context: kept
        assert "script-src 'none'" in lane.headers["content-security-policy"]
        assert Counting.passed == []  # the skippable layer: skipped
        every = await client.get("/v1/hot", headers={"Origin": "https://a.example"} | FULL_WAY)
        _same(lane, every)
        assert Counting.passed == ["/v1/hot"]
        await client.get("/cold")  # not a hot route: every layer
        await client.post("/v1/hot")  # not the hot route's method: every layer (405)
        assert Counting.passed == ["/v1/hot", "/cold", "/v1/hot"]
        for fail, status in (("registry", 404), ("bug", 500)):
            lane = await client.get("/v1/hot", params={"fail": fail})
            every = await client.get("/v1/hot", params={"fail": fail}, headers=FULL_WAY)
            assert lane.status_code == every.status_code == status
            assert lane.content == every.content
            assert lane.headers["content-type"] == every.headers["content-type"]
        assert lane.status_code == 500 and b"a bug" not in lane.content
