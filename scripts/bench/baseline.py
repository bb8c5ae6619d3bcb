"""The baseline: a bare FastAPI endpoint doing one asyncpg primary-key lookup
against the same database, its answer through FastAPI's encoder. The registry's
figures are reported as ratios to this one, measured in the same run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DSN = os.environ["BASELINE_DSN"]
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=20)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


class GradeIn(BaseModel):
    grade: str
    assessed_on: dt.date
    valid_until: dt.date | None = None
    authority: str
    basis: str


@app.post("/write/{uscc}", status_code=201)
async def write(uscc: str, body: GradeIn) -> dict[str, Any]:
    """The `writes` scenario's baseline: one INSERT (bench_writes, made by bench.py)."""
    assert pool is not None
    row = await pool.fetchrow(
        "INSERT INTO bench_writes (uscc, grade, assessed_on) VALUES ($1, $2, $3) RETURNING id",
        uscc,
        body.grade,
        body.assessed_on,
    )
    assert row is not None
    return {"id": row["id"], "uscc": uscc}


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
