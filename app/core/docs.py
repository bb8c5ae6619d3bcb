"""Interactive documentation that works offline: Swagger UI at /docs and ReDoc at
/redoc, their assets served from a pinned package (`fastapi-offline`) under this
service's own origin, never a CDN (isolated networks are common where the
registry runs). The pages' Content-Security-Policy admits this origin only; the
one relaxation is inline styles, which both UIs set on their elements."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Response
from fastapi.staticfiles import StaticFiles

VENDOR = Path(fastapi_offline.__file__).parent / "static"
OWN = Path(__file__).parent / "docs_static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
TITLE = "Quality Credit Registry"

SWAGGER = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE} — API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/own/swagger-init.js"></script>
</body></html>
"""
REDOC = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE} — API</title>
<link rel="icon" href="/docs/assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script>
</body></html>
"""


def _page(html: str) -> Response:
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    return Response(html, media_type="text/html", headers=headers)


def install(app: FastAPI) -> None:
    """Create the app with `docs_url=None, redoc_url=None`; this serves both."""
    app.mount("/docs/assets", StaticFiles(directory=VENDOR), name="docs-assets")
    app.mount("/docs/own", StaticFiles(directory=OWN), name="docs-own")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return _page(SWAGGER)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return _page(REDOC)
