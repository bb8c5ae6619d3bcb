"""Concurrent writes that race for the same thing, committed for real: two PATCHes
with the same ETag (one wins, the other is 412, one new version), and two creating
POSTs with one Idempotency-Key and different bodies (one record; the other is
refused with 422, whichever way the race goes, never a second record)."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import committed_key, committed_organization
from tests.records.helpers import violation


async def test_two_patches_with_the_same_etag_one_wins_one_is_412(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    created = await committed_client.post(
        f"/v1/organizations/{uscc}/violations", json=violation(), headers=regulator
    )
    assert created.status_code == 201, created.text
    url = f"/v1/violations/{created.json()['id']}"
    etag = (await committed_client.get(url, headers=regulator)).headers["etag"]
    for attempt in range(3):  # three races, each from the then current version
        answers = await asyncio.gather(
            committed_client.patch(
                url, json={"category": f"甲{attempt}"}, headers=regulator | {"If-Match": etag}
            ),
            committed_client.patch(
                url, json={"category": f"乙{attempt}"}, headers=regulator | {"If-Match": etag}
            ),
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 412], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200)
        current = await committed_client.get(url, headers=regulator)
        assert current.json()["category"] == winner.json()["category"]
        assert current.headers["etag"] == winner.headers["etag"] != etag
        etag = current.headers["etag"]
    history = await committed_client.get(f"{url}/history", headers=regulator)
    assert len(history.json()) == 1 + 3  # one version per winner, none for a loser


async def test_one_idempotency_key_two_bodies_at_once_makes_one_record(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine)
    headers = regulator | {"Idempotency-Key": "race-1"}
    first, second = violation(case_no="竞争-1"), violation(case_no="竞争-2")
    answers = await asyncio.gather(
        committed_client.post(f"/v1/organizations/{uscc}/violations", json=first, headers=headers),
        committed_client.post(f"/v1/organizations/{uscc}/violations", json=second, headers=headers),
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 422], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 201)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT case_no, id::text FROM violations WHERE case_no LIKE '竞争-%'")
            )
        ).all()
    assert [(case_no, id_) for case_no, id_ in stored] == [
        (winner.json()["case_no"], winner.json()["id"])
    ]
    # The key now belongs to the winner's body: it replays, the other body is refused.
    winning_body = first if winner.json()["case_no"] == "竞争-1" else second
    losing_body = second if winning_body is first else first
    replay = await committed_client.post(
        f"/v1/organizations/{uscc}/violations", json=winning_body, headers=headers
    )
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.content == winner.content
    refused = await committed_client.post(
        f"/v1/organizations/{uscc}/violations", json=losing_body, headers=headers
    )
    assert refused.status_code == 422
