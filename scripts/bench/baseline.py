"""The baseline: a bare FastAPI endpoint doing one asyncpg primary-key lookup
against the same database, its answer through FastAPI's encoder. The registry's
figures are reported as ratios to this one, measured in the same run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException

DSN = os.environ["BASELINE_DSN"]
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=20)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/credit/{uscc}")
async def credit(uscc: str) -> dict[str, Any]:
    assert pool is not None
    row = await pool.fetchrow(
        "SELECT uscc, grade, a_level, red_list, black_list, as_of FROM credit_status WHERE uscc = $1",
        uscc,
    )
    if row is None:
        raise HTTPException(404)
    return dict(row)
