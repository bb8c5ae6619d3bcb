"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from app.core.database import Db
from app.core.migrations import alembic_config

router = APIRouter(tags=["operations"])

POOL_IN_USE = Gauge("qcr_db_pool_checked_out", "database connections in use")
POOL_SIZE = Gauge("qcr_db_pool_size", "database connections held by the pool")

_HEADS = frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@router.get("/healthz", include_in_schema=True)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "database unreachable or schema behind"}},
)
async def readyz(database: Db, response: Response) -> dict[str, str]:
    """The database answers and its schema is at the head revision."""
    try:
        async with database.engine.connect() as conn:
            revisions = await conn.run_sync(
                lambda sync: frozenset(MigrationContext.configure(sync).get_current_heads())
            )
    except Exception:  # any failure to reach the database means "not ready"
        response.status_code = 503
        response.headers["Retry-After"] = "2"
        return {"status": "unavailable", "reason": "database unreachable"}
    if revisions != _HEADS:
        response.status_code = 503
        return {
            "status": "unavailable",
            "reason": f"schema at {sorted(revisions)}, head is {sorted(_HEADS)}",
        }
    return {"status": "ok", "revision": ",".join(sorted(revisions))}


@router.get("/metrics", response_class=Response)
async def metrics(database: Db) -> Response:
    """Prometheus text format."""
    pool = database.engine.pool
    POOL_IN_USE.set(getattr(pool, "checkedout", lambda: 0)())
    POOL_SIZE.set(getattr(pool, "size", lambda: 0)())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
