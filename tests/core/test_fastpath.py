"""The hot paths on their own asyncpg pools (production) answer exactly like the
same paths on the request's session (tests and the fallback)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.auth.test_revocation import revoke_committed
from tests.factories import random_uscc


async def test_the_fast_pool_answers_like_the_session_path(
    engine: Any, test_database: Any, test_settings: Any, committed_client: AsyncClient
) -> None:
    """The hot path on its own asyncpg pool (production) and on the request's
    session (tests, no pool) give the same answers, for anonymous and keyed callers."""
    from httpx import ASGITransport

    from app.core.database import Database, make_fast_pool
    from app.main import create_app
    from tests.factories import committed_key, committed_organization

    uscc = await committed_organization(engine)
    regulator = await committed_key(engine, "regulator")
    revoked = await committed_key(engine, "partner")
    pool = await make_fast_pool(test_database.service_url, test_settings)
    fast_app = create_app(test_settings, database=Database(engine, fast_pool=pool))
    try:
        async with AsyncClient(transport=ASGITransport(app=fast_app), base_url="http://t") as fast:
            for headers in ({}, regulator):
                a = await fast.get(f"/v1/organizations/{uscc}/credit", headers=headers)
                b = await committed_client.get(f"/v1/organizations/{uscc}/credit", headers=headers)
                assert a.status_code == b.status_code == 200
                assert {k: v for k, v in a.json().items() if k != "updated_at"} == {
                    k: v for k, v in b.json().items() if k != "updated_at"
                }
            missing = await fast.get(f"/v1/organizations/{random_uscc()}/credit")
            assert missing.status_code == 404
            bad = await fast.get(
                f"/v1/organizations/{uscc}/credit", headers={"Authorization": "Bearer qcr_nope"}
            )
            assert bad.status_code == 401
            # A key that worked is refused by the lane as soon as it is revoked.
            assert (
                await fast.get(f"/v1/organizations/{uscc}/credit", headers=revoked)
            ).status_code == 200
            await revoke_committed(engine, revoked)
            refused = await fast.get(f"/v1/organizations/{uscc}/credit", headers=revoked)
            assert refused.status_code == 401, refused.text
            partner = await committed_key(engine, "partner")
            codes = [uscc, "91110000600037341X", random_uscc(), uscc[8:17]]
            fast_batch = await fast.post("/v1/credit/batch", json={"codes": codes}, headers=partner)
            slow_batch = await committed_client.post(
                "/v1/credit/batch", json={"codes": codes}, headers=partner
            )
            assert fast_batch.status_code == slow_batch.status_code == 200
            assert fast_batch.json() == slow_batch.json()
            assert [r.get("uscc") for r in fast_batch.json()["results"]] == [uscc, None, None, uscc]
            # The resolver's lookup and scan on the pools.
            from tests.codes.helpers import codes_csv, issue, make_batch, make_product

            gtin = await make_product(committed_client, regulator, uscc)
            await make_batch(committed_client, regulator, gtin, "L1")
            await issue(committed_client, regulator, gtin, "L1", 1)
            uri = (await codes_csv(committed_client, regulator, gtin, "L1"))[0]
            path = "/" + uri.split("/", 3)[3]
            for expected in (1, 2):
                page = await fast.get(path, params={"format": "json"})
                assert page.status_code == 200, page.text
                assert page.json()["item"]["scan_count"] == expected
            slow = await committed_client.get(path, params={"format": "json"})
            assert slow.json()["item"]["scan_count"] == 3
    finally:
        await pool.close()


async def test_the_hot_credit_route_keeps_headers_limits_and_errors(
    engine: Any, test_database: Any, test_settings: Any, committed_client: AsyncClient
) -> None:
    """The hot route answers like any route: problem+json errors, the request id and
    security headers, and the anonymous rate limit charged once per request (an
    unknown code too)."""
    from httpx import ASGITransport

    from app.core.database import Database, make_fast_pool
    from app.main import create_app
    from tests.factories import committed_organization

    uscc = await committed_organization(engine)
    pool = await make_fast_pool(test_database.service_url, test_settings)
    settings = test_settings.model_copy(update={"rate_limit_public": "4/minute"})
    app = create_app(settings, database=Database(engine, fast_pool=pool))
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            bad = await client.get("/v1/organizations/91110000600037341X/credit")
            assert bad.status_code == 422
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["field"] == "code"
            unknown = await client.get(f"/v1/organizations/{random_uscc()}/credit")
            assert unknown.status_code == 404
            assert unknown.headers["content-type"] == "application/problem+json"
            first = await client.get(f"/v1/organizations/{uscc}/credit")
            assert first.status_code == 200
            assert first.json()["uscc"] == uscc
            assert first.headers["x-request-id"]
            assert "script-src 'none'" in first.headers["content-security-policy"]
            assert first.headers["x-content-type-options"] == "nosniff"
            second = await client.get(f"/v1/organizations/{uscc}/credit")
            assert second.status_code == 200
            third = await client.get(f"/v1/organizations/{uscc}/credit")
            assert third.status_code == 429  # four requests, four charges
            assert third.headers["retry-after"]
            assert third.headers["content-type"] == "application/problem+json"
    finally:
        await pool.close()


async def test_the_credit_answer_has_the_documented_fields(
    client: AsyncClient, session: Any
) -> None:
    """One list of fields (credit_service.CREDIT_FIELDS) makes every credit answer:
    the SQL-built one carries exactly the fields of the documented schema."""
    from app.credit import service as credit_service
    from app.credit.schemas import CreditOut
    from tests.factories import make_organization

    uscc = await make_organization(session)
    answer = (await client.get(f"/v1/organizations/{uscc}/credit")).json()
    assert set(answer) == set(CreditOut.model_fields)
    assert set(credit_service.CREDIT_FIELDS) | {"known_at"} == set(CreditOut.model_fields)
    then = await client.get(f"/v1/organizations/{uscc}/credit", params={"as_of": "2026-01-01"})
    assert set(then.json()) == set(CreditOut.model_fields)


async def test_a_compiled_read_runs_in_the_sessions_transaction(session: Any) -> None:
    """`fastpath.Compiled`: SQLAlchemy's statement, its literals and its parameter
    conversion, run by the driver inside the session's transaction (it sees what
    the transaction wrote and has not committed)."""
    import uuid

    import pytest
    from sqlalchemy import ARRAY, bindparam, func, literal, select
    from sqlalchemy.dialects.postgresql import UUID as PG_UUID

    from app.core.fastpath import Compiled
    from app.organizations.models import Organization
    from tests.factories import make_organization

    uscc = await make_organization(session)  # not committed
    org_id = await session.scalar(select(Organization.id).where(Organization.uscc == uscc))
    ids = func.any(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))
    statement = Compiled(
        select(Organization.uscc, literal("x").label("tag")).where(Organization.id == ids)
    )
    rows = await statement.fetch(session, {"ids": [org_id, uuid.uuid4()]})
    assert [(r["uscc"], r["tag"]) for r in rows] == [(uscc, "x")]
    with pytest.raises(ValueError, match="ANY"):
        Compiled(
            select(Organization.uscc).where(Organization.id.in_(bindparam("ids", expanding=True)))
        )
