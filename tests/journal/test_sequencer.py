"""The sequencer on committed transactions: commit order, the change feed that
never skips a late commit, and `seq` null until sequenced."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import journal
from app.core.principal import SYSTEM
from app.core.settings import Settings
from app.journal import heads, sequencer
from app.journal.models import AuditEntry, LogLeaf
from tests.factories import committed_key


async def _write(session: AsyncSession, name: str) -> journal.Entry:
    return await journal.record(
        session,
        SYSTEM,
        action="test.write",
        entity="test",
        entity_id=name,
        after={"name": name},
        event=("test.written", {"name": name}),
    )


async def _feed(
    client: AsyncClient, headers: dict[str, str], after: int
) -> list[dict[str, object]]:
    response = await client.get(f"/v1/changes?after={after}", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_writes_committed_out_of_order_are_sequenced_in_commit_order(
    engine: AsyncEngine, committed_client: AsyncClient, test_settings: Settings
) -> None:
    signer = heads.load_signer(test_settings)
    partner = await committed_key(engine, "partner")
    regulator = await committed_key(engine, "regulator")
    assert await sequencer.catch_up(engine, signer)
    feed = await _feed(committed_client, partner, 0)
    start = int(feed[-1]["seq"]) if feed else 0  # type: ignore[call-overload]

    async with AsyncSession(engine) as early, AsyncSession(engine) as late:
        first = await _write(early, "early")  # the older transaction...
        second = await _write(late, "late")
        await late.commit()  # ...commits second
        xids = dict(
            (
                await late.execute(
                    select(AuditEntry.entity_id, AuditEntry.xact_id).where(
                        AuditEntry.entity == "test"
                    )
                )
            ).all()
        )
        assert xids == {"late": xids["late"]}  # the early one is not visible yet
        # Not sequenced yet: the entry is served with seq and leaf_hash null.
        trail = (
            await committed_client.get("/v1/audit?entity=test&id=late", headers=regulator)
        ).json()["items"]
        assert [(e["seq"], e["leaf_hash"]) for e in trail] == [(None, None)]
        assert await _feed(committed_client, partner, start) == []

        assert await sequencer.catch_up(engine, signer)
        page = await _feed(committed_client, partner, start)
        assert [e["data"] for e in page] == [{"name": "late"}]
        reader_at = int(page[-1]["seq"])  # type: ignore[call-overload]

        await early.commit()
        early_xid = await early.scalar(select(AuditEntry.xact_id).where(AuditEntry.id == first.id))
        assert early_xid is not None and early_xid < xids["late"]  # out of order indeed

    assert await sequencer.catch_up(engine, signer)
    # The reader who had paged up to the late write still gets the early one next.
    page = await _feed(committed_client, partner, reader_at)
    assert [e["data"] for e in page] == [{"name": "early"}]
    async with AsyncSession(engine) as s:
        seqs = dict((await s.execute(select(LogLeaf.entry_id, LogLeaf.seq))).all())
    assert seqs[second.id] < seqs[first.id]
    trail = (await committed_client.get("/v1/audit?entity=test", headers=regulator)).json()["items"]
    assert all(e["seq"] is not None and len(e["leaf_hash"]) == 64 for e in trail)


async def test_one_sequencer_leads_and_the_other_waits(
    engine: AsyncEngine, committed_client: AsyncClient, test_settings: Settings
) -> None:
    signer = heads.load_signer(test_settings)
    async with engine.connect() as leader:
        assert await sequencer.try_lead(leader)
        assert not await sequencer.catch_up(engine, signer)  # another process leads
        await leader.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": sequencer.LOCK_ID})
        await leader.commit()
    assert await sequencer.catch_up(engine, signer)
