"""A revoked key is refused by every serving process within 1 second (SPEC §1),
although each process answers keyed lookups from its own key cache."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx

from app.core.database import make_engine
from app.core.settings import Settings
from tests.factories import committed_key, committed_organization
from tests.faults.conftest import FaultServer
from tests.faults.servers import cli, serving


async def test_revocation_reaches_a_second_process_within_a_second(
    fault_server: FaultServer, fault_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(fault_server.service_url, fault_settings, pool_size=2)
    partner = await committed_key(engine, "partner")
    other = await committed_key(engine, "partner")
    uscc = await committed_organization(engine)
    await engine.dispose()
    secret = partner["Authorization"].removeprefix("Bearer ")
    path = f"/v1/organizations/{uscc}/credit"

    async with (
        serving(fault_server, fault_settings, tmp_path) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        for served in (first, second):  # both processes now hold the key in cache
            for _ in range(3):
                answer = await client.get(served.base + path, headers=partner)
                assert answer.status_code == 200, answer.text
        metrics = (await client.get(second.base + "/metrics")).text
        assert 'qcr_api_key_lookups_total{source="cache"} 2.0' in metrics
        # Revoked through the CLI, the secret read from stdin (never in argv).
        revoked = await cli(
            fault_server, fault_settings, tmp_path, "apikey", "revoke", "-", stdin=secret
        )
        committed = time.monotonic()
        assert revoked.returncode == 0, revoked.stderr
        await asyncio.sleep(max(0.0, committed + 1.0 - time.monotonic()))
        refused = await client.get(second.base + path, headers=partner)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await client.get(first.base + path, headers=partner)).status_code == 401
        # Another key is untouched.
        assert (await client.get(second.base + path, headers=other)).status_code == 200

    unknown = await cli(
        fault_server, fault_settings, tmp_path, "apikey", "revoke", str(uuid.uuid4())
    )
    assert unknown.returncode == 1
    again = await cli(fault_server, fault_settings, tmp_path, "apikey", "revoke", secret)
    assert again.returncode == 0  # revoking a revoked key by its secret: nothing to do
