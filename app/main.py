"""The ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import openapi
from app.approvals import router as approvals_router
from app.audit import proofs as audit_proofs
from app.audit.router import router as audit_router
from app.auth.dependencies import rate_limit
from app.auth.keys import KEY_CACHE, key_cache
from app.changes.router import router as changes_router
from app.codes import described, resolution, resolver, scans
from app.codes import router as codes_router
from app.complaints import pages as complaint_pages
from app.complaints import router as complaints_router
from app.console import router as console_router
from app.core import (
    bodylimit,
    collector,
    cors,
    deployment,
    docs,
    errors,
    health,
    hotroute,
    textguard,
)
from app.core.database import (
    DATABASE,
    Database,
    asyncpg_dsn,
    make_engine,
    make_fast_pool,
    resolve_urls,
)
from app.core.logging import configure as configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.notify import Watch
from app.core.settings import SETTINGS, Settings, get_settings
from app.core.templates import STATIC_DIR
from app.credit import answers as credit_answers
from app.credit import router as credit_router
from app.credit.policies import router as policies_router
from app.credit.refresher import run_daily as refresh_daily
from app.dueprocess import router as dueprocess_router
from app.journal import heads, sequencer, witness
from app.lists import router as lists_router
from app.organizations.router import router as organizations_router
from app.partners import webhooks_doc
from app.partners.router import router as partners_router
from app.recalls.router import router as recalls_router
from app.records import router as records_router
from app.signals import job as signals_job
from app.signals import router as signals_router
from app.startup import start_up
from app.web import home
from app.web import organization as organization_page
from app.wiring import install_listeners

DESCRIPTION = """
质量信用红黑榜登记服务 — the quality-credit registry of enterprises keyed on the
Unified Social Credit Code: grades, violations, inspections and recalls; credit
grades and A-level status; red and black lists; one item one code.

Errors are RFC 9457 `application/problem+json`. Authenticate with
`Authorization: Bearer <api key>`; public operations need no key.
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app; tests pass their own Database, the server makes one in lifespan."""
    settings = settings or get_settings()
    configure_logging(json=settings.log_json)
    install_listeners()
    signer = heads.load_signer(settings)  # fails fast: a key is required with DATABASE_URL

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is not None:
            DATABASE.bind(app, database)
            witness.configure(signer)
            yield
            return
        urls = await asyncio.to_thread(resolve_urls, settings)
        await deployment.check(settings, urls.service)  # refuses an unsafe deployment
        read_engine = (
            make_engine(settings.database_read_url, settings)
            if settings.database_read_url
            else None
        )
        fast_pool = await make_fast_pool(settings.database_read_url or urls.service, settings)
        fast_write_pool = (
            await make_fast_pool(urls.service, settings) if settings.database_read_url else None
        )
        engine = make_engine(urls.service, settings)
        made = Database(engine, read_engine, fast_pool, fast_write_pool)
        DATABASE.bind(app, made)
        witness.configure(signer)
        await start_up(made, settings)
        # Every process runs for the sequencer's election; one leads (SPEC §7).
        sequencing = asyncio.create_task(sequencer.run(made.engine, signer))
        # Change notifications from the primary keep the in-process caches honest.
        watch = Watch(asyncpg_dsn(urls.service))
        KEY_CACHE.bind(app, key_cache(watch))
        resolution.CACHE.bind(app, resolution.cache(watch))
        credit_answers.CACHE.bind(app, credit_answers.cache(watch))
        buffer = scans.ScanBuffer(made.primary_pool, settings.zone, reads=fast_pool)
        scans.BUFFER.bind(app, buffer)
        tasks = [
            asyncio.create_task(refresh_daily(made, settings)),
            asyncio.create_task(signals_job.run_daily(made, settings)),
            asyncio.create_task(watch.run()),
        ]
        scan_writer = asyncio.create_task(buffer.run())
        collector.settle()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            sequencing.cancel()
            scan_writer.cancel()  # writes what is buffered (the drain), then ends
            await asyncio.gather(scan_writer, return_exceptions=True)
            await made.dispose()

    app = hotroute.HotApp(
        title="Quality Credit Registry",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Starlette's slash redirect builds its Location from the Host header, which
        # is not trusted (SPEC §8): `/v1/organizations/` is a 404, not a redirect.
        redirect_slashes=False,
        docs_url=None,  # app/core/docs.py: served offline, not from a CDN
        redoc_url=None,
    )
    SETTINGS.bind(app, settings)
    if database is not None:
        DATABASE.bind(app, database)
        witness.configure(signer)
    errors.install(app)
    cors.install_head(app)  # innermost: HEAD is the GET the routes answer
    textguard.install(app)  # innermost: sees bodies that passed the bound
    bodylimit.install(app)  # inside the request context: rejections are logged too
    app.add_middleware(RequestContextMiddleware)
    cors.install_cors(app)  # outermost: every answer in its scope is shared
    openapi.install(app, described.reshape)
    docs.install(app)
    app.include_router(health.router)
    # Anonymous public views are rate limited per client (keys are not); the
    # resolver and feedback have limits of their own.
    public = [Depends(rate_limit("public", lambda s: s.rate_limit_public))]
    app.include_router(organizations_router, dependencies=public)
    app.include_router(records_router.build_router(), dependencies=public)
    app.include_router(credit_router.router, dependencies=public)
    app.include_router(changes_router, dependencies=public)
    app.include_router(policies_router, dependencies=public)
    app.include_router(dueprocess_router.router)
    app.include_router(approvals_router.router)
    app.include_router(lists_router.router, dependencies=public)
    app.include_router(organization_page.router, dependencies=public)
    app.include_router(codes_router.router)
    app.include_router(home.router, dependencies=public)
    app.include_router(complaints_router.router)
    app.include_router(complaint_pages.router)
    app.include_router(signals_router.router)
    app.include_router(console_router.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(audit_router)
    app.include_router(partners_router)
    app.include_router(recalls_router)
    webhooks_doc.install(app)
    # The hot reads, matched before any other route (app/core/hotroute.py).
    hotroute.install(
        app, credit_router.CREDIT_LOOKUP, *resolver.RESOLVER_ROUTES, *audit_proofs.ROUTES
    )
    return app
