"""The hot routes, on their pools as in production, answer 503 problem+json with
Retry-After (and the request id) while the database is down — through the same
handlers as every route, never a bare 500."""

from __future__ import annotations

from pathlib import Path

from httpx import ASGITransport, AsyncClient

from app.core.database import Database, make_engine, make_fast_pool
from app.core.settings import Settings
from app.main import create_app
from tests.codes.helpers import item_codes
from tests.factories import committed_key, committed_organization
from tests.faults.conftest import FaultServer


async def test_hot_routes_answer_503_with_retry_after_when_the_database_is_down(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    uscc = await committed_organization(engine)
    pool = await make_fast_pool(fault_server.service_url, fault_settings)
    app = create_app(fault_settings, database=Database(engine, fast_pool=pool))
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            _, paths = await item_codes(client, regulator, uscc, count=1)
            assert (await client.get(f"/v1/organizations/{uscc}/credit")).status_code == 200
            fault_server.stop()
            try:
                for path, headers in (
                    (f"/v1/organizations/{uscc}/credit", {}),
                    (f"/v1/organizations/{uscc}/credit", partner),
                    (paths[0] + "?format=json", {}),
                ):
                    answer = await client.get(path, headers=headers)
                    assert answer.status_code == 503, (path, answer.text)
                    assert answer.headers["content-type"] == "application/problem+json"
                    assert answer.headers["retry-after"]
                    assert answer.headers["x-request-id"]
                    assert answer.json()["status"] == 503
            finally:
                fault_server.start()
            assert (await client.get(f"/v1/organizations/{uscc}/credit")).status_code == 200
    finally:
        await pool.close()
        await engine.dispose()
