"""The ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import openapi
from app.audit.router import router as audit_router
from app.auth.dependencies import rate_limit
from app.changes import service as changes_service
from app.changes.router import router as changes_router
from app.codes import router as codes_router
from app.core import bodylimit, errors, health, textguard
from app.core.database import Database, make_engine, make_fast_pool, resolve_urls
from app.core.logging import configure as configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.settings import Settings, get_settings
from app.core.templates import STATIC_DIR
from app.credit.fastlane import CreditFastLane
from app.credit.refresher import run_daily as refresh_daily
from app.credit.router import router as credit_router
from app.lists import router as lists_router
from app.organizations.router import router as organizations_router
from app.partners import dispatcher as webhook_dispatcher
from app.partners import outbox, webhooks_doc
from app.partners.router import router as partners_router
from app.recalls.router import router as recalls_router
from app.records import router as records_router
from app.web import organization as organization_page

DESCRIPTION = """
质量信用红黑榜登记服务 — the quality-credit registry of enterprises keyed on the
Unified Social Credit Code: grades, violations, inspections and recalls; credit
grades and A-level status; red and black lists; one item one code.

Errors are RFC 9457 `application/problem+json`. Authenticate with
`Authorization: Bearer <api key>`; public operations need no key.
"""


def install_listeners() -> None:
    """Side effects of every write, in the writer's transaction, registered at
    start-up (the writer never imports them): the webhook outbox."""
    changes_service.add_listener(outbox.enqueue_many)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app; tests pass their own Database, the server makes one in lifespan."""
    settings = settings or get_settings()
    configure_logging(json=settings.log_json)
    install_listeners()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is not None:
            app.state.database = database
            yield
            return
        urls = await asyncio.to_thread(resolve_urls, settings)
        read_engine = (
            make_engine(settings.database_read_url, settings)
            if settings.database_read_url
            else None
        )
        fast_pool = await make_fast_pool(settings.database_read_url or urls.service, settings)
        fast_write_pool = (
            await make_fast_pool(urls.service, settings) if settings.database_read_url else None
        )
        app.state.database = Database(
            make_engine(urls.service, settings), read_engine, fast_pool, fast_write_pool
        )
        refresher = asyncio.create_task(refresh_daily(app.state.database, settings))
        dispatcher = (
            webhook_dispatcher.start(app.state.database.engine, settings)
            if settings.webhook_dispatcher
            else None
        )
        try:
            yield
        finally:
            refresher.cancel()
            if dispatcher is not None:  # its lock connection is closed, not pooled
                dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatcher
            await app.state.database.dispose()

    app = FastAPI(
        title="Quality Credit Registry",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if database is not None:
        app.state.database = database
    errors.install(app)
    textguard.install(app)  # innermost: sees bodies that passed the bound
    bodylimit.install(app)  # inside the request context: rejections are logged too
    app.add_middleware(CreditFastLane)  # inside the request context, before routing
    app.add_middleware(RequestContextMiddleware)
    openapi.install(app)
    app.include_router(health.router)
    # Anonymous public views are rate limited per client (keys are not); the
    # resolver and feedback have limits of their own.
    public = [Depends(rate_limit("public", lambda s: s.rate_limit_public))]
    app.include_router(organizations_router, dependencies=public)
    app.include_router(records_router.build_router(), dependencies=public)
    app.include_router(credit_router, dependencies=public)
    app.include_router(changes_router, dependencies=public)
    app.include_router(lists_router.router, dependencies=public)
    app.include_router(organization_page.router, dependencies=public)
    app.include_router(codes_router.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(audit_router)
    app.include_router(partners_router)
    app.include_router(recalls_router)
    webhooks_doc.install(app)
    return app
