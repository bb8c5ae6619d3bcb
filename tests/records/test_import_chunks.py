"""What an import holds (SPEC §7, §8): an open import blocks no other
organization's write; `mode=partial` commits in chunks, so its first rows are
committed and sequenced while the rest is written; a chunk that meets a deadlock
is written again, one that cannot be written ends the import with a 503 naming
what the earlier chunks committed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import journal
from app.core.errors import Conflict
from app.core.principal import SYSTEM
from app.journal import sequencer
from app.journal.models import AuditEntry, LogLeaf
from app.journal.service import Listener
from app.organizations.models import Organization
from app.records import imports
from app.records.models import Violation
from tests.factories import committed_regulator_and_two, make_organization
from tests.records.helpers import days_ago, grade, violation

HEADER = "uscc,case_no,authority,decided_on,category,severity,public_summary"


def _csv(uscc: str, n: int, prefix: str = "块") -> bytes:
    rows = [f"{uscc},{prefix}{i},局,{days_ago(3)},x,minor,s" for i in range(1, n + 1)]
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


async def _committed_violations(engine: AsyncEngine, uscc: str) -> int:
    async with AsyncSession(engine) as s:
        return (
            await s.scalar(
                select(func.count())
                .select_from(Violation)
                .join(Organization, Organization.id == Violation.organization_id)
                .where(Organization.uscc == uscc)
            )
            or 0
        )


@pytest.fixture(autouse=True)
def chunk_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of two rows in mode=partial (atomic mode has none)."""
    monkeypatch.setattr(imports, "CHUNK", 2)


@pytest.fixture
async def listen() -> AsyncIterator[Callable[[Listener], None]]:
    """Register a listener on the import's writes, removed after the test."""
    added: list[Listener] = []

    def add(fn: Listener) -> None:
        journal.listen(fn)
        added.append(fn)

    yield add
    for fn in added:
        journal.unlisten(fn)


async def _import(
    client: AsyncClient, headers: dict[str, str], uscc: str, rows: int, mode: str = "partial"
) -> Response:
    return await client.post(
        f"/v1/imports/violations?mode={mode}",
        content=_csv(uscc, rows),
        headers=headers | {"content-type": "text/csv"},
    )


async def test_an_open_atomic_import_blocks_no_other_organization(
    engine: AsyncEngine, committed_client: AsyncClient
) -> None:
    regulator, busy, other = await committed_regulator_and_two(engine)
    async with AsyncSession(engine, expire_on_commit=False) as importer:
        report = await imports.run(importer, SYSTEM, _csv(busy, 20), "atomic")
        assert report.imported == 20
        assert importer.in_transaction()  # written, credit refreshed, not committed
        # A block would wait for the import's commit (or answer 503 at lock_timeout).
        response = await committed_client.post(
            f"/v1/organizations/{other}/grades", json=grade(), headers=regulator
        )
        assert response.status_code == 201, response.text
        assert importer.in_transaction()
        assert await _committed_violations(engine, busy) == 0  # all or nothing
        await importer.commit()
    assert await _committed_violations(engine, busy) == 20


async def test_a_partial_import_commits_and_is_sequenced_chunk_by_chunk(
    engine: AsyncEngine,
    committed_client: AsyncClient,
    listen: Callable[[Listener], None],
) -> None:
    regulator, busy, other = await committed_regulator_and_two(engine)
    seen: list[tuple[int, int, int]] = []  # (row, committed before it, sequenced)

    async def observe(_: AsyncSession, entry: journal.Entry | None, __: object) -> None:
        if entry is None or entry.action != "violation.create":
            return
        async with AsyncSession(engine) as s:  # what another connection sees now
            await sequencer.sequence_pending(s)
            await s.commit()
            sequenced = await s.scalar(
                select(func.count())
                .select_from(LogLeaf)
                .join(AuditEntry, AuditEntry.id == LogLeaf.entry_id)
                .where(AuditEntry.action == "violation.create", AuditEntry.uscc == busy)
            )
        committed = await _committed_violations(engine, busy)
        seen.append((len(seen) + 1, committed, sequenced or 0))
        if len(seen) == 3:  # mid-import: another organization's write goes through
            response = await committed_client.post(
                f"/v1/organizations/{other}/grades", json=grade(), headers=regulator
            )
            assert response.status_code == 201, response.text

    listen(observe)
    keyed = regulator | {"Idempotency-Key": "chunks-1"}
    response = await _import(committed_client, keyed, busy, 5)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] == 5
    assert [c["line"] for c in report["created"]] == [2, 3, 4, 5, 6]
    # Rows 1-2 committed (and sequenced) before row 3 was written, 1-4 before row 5.
    assert seen == [(1, 0, 0), (2, 0, 0), (3, 2, 2), (4, 2, 2), (5, 4, 4)]
    again = await _import(committed_client, keyed, busy, 5)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == report
    assert await _committed_violations(engine, busy) == 5


def _failing(state: str, at_row: int, times: int) -> Listener:
    """A listener that makes the writer's statement fail with `state` when the
    import writes its `at_row`-th row, `times` times."""
    rows = {"n": 0, "left": times}

    async def fail(session: AsyncSession, entry: journal.Entry | None, _: object) -> None:
        if entry is None or entry.action != "violation.create":
            return
        rows["n"] += 1
        if rows["n"] == at_row and rows["left"] > 0:
            rows["left"] -= 1
            await session.execute(
                text(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{state}'; END $$")
            )

    return fail


async def test_a_chunk_that_meets_a_deadlock_is_written_again(
    client: AsyncClient,
    regulator: dict[str, str],
    session: AsyncSession,
    listen: Callable[[Listener], None],
) -> None:
    listen(_failing("40P01", at_row=4, times=1))  # the second chunk's second row
    response = await _import(client, regulator, await make_organization(session), 5)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] == 5
    assert report["rejected"] == []
    assert [c["line"] for c in report["created"]] == [2, 3, 4, 5, 6]
    count = await session.scalar(select(func.count()).select_from(Violation))
    assert count == 5


async def test_an_import_that_cannot_go_on_keeps_its_chunks_and_gives_its_key_up(
    client: AsyncClient,
    regulator: dict[str, str],
    session: AsyncSession,
    listen: Callable[[Listener], None],
) -> None:
    uscc = await make_organization(session)
    listen(_failing("55P03", at_row=5, times=1))  # a lock timeout in the third chunk
    headers = regulator | {"Idempotency-Key": "stops-1"}
    response = await _import(client, headers, uscc, 6)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert "after 4 rows" in body["detail"]
    assert [c["line"] for c in body["report"]["created"]] == [2, 3, 4, 5]
    assert await session.scalar(select(func.count()).select_from(Violation)) == 4

    # The same key runs again: the committed rows are reported as recorded.
    retry = await _import(client, headers, uscc, 6)
    assert retry.status_code == 200, retry.text
    assert "idempotent-replayed" not in retry.headers
    report = retry.json()
    assert [c["line"] for c in report["created"]] == [6, 7]
    assert [r["line"] for r in report["rejected"]] == [2, 3, 4, 5]
    assert "already recorded" in report["rejected"][0]["reasons"][0]["message"]
    assert await session.scalar(select(func.count()).select_from(Violation)) == 6


async def test_an_atomic_import_that_meets_a_deadlock_runs_again(
    client: AsyncClient,
    regulator: dict[str, str],
    session: AsyncSession,
    listen: Callable[[Listener], None],
) -> None:
    listen(_failing("40P01", at_row=3, times=1))
    # A text/csv body: read once, kept for the second run.
    response = await _import(client, regulator, await make_organization(session), 4, "atomic")
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 4
    assert await session.scalar(select(func.count()).select_from(Violation)) == 4


def _recording_row_3(client: AsyncClient, regulator: dict[str, str], uscc: str) -> Listener:
    """A listener that, when the import has written its second row, has someone
    else record (and commit) the case of the file's third row."""
    rows = {"n": 0}

    async def record_it(_: AsyncSession, entry: journal.Entry | None, __: object) -> None:
        if entry is None or entry.action != "violation.create":
            return
        rows["n"] += 1
        if rows["n"] == 2:
            response = await client.post(
                f"/v1/organizations/{uscc}/violations",
                json=violation(case_no="块3", authority="局"),
                headers=regulator,
            )
            assert response.status_code == 201, response.text

    return record_it


async def test_a_case_recorded_since_the_file_was_checked_is_rejected_by_line(
    engine: AsyncEngine, committed_client: AsyncClient, listen: Callable[[Listener], None]
) -> None:
    regulator, busy, other = await committed_regulator_and_two(engine)
    listen(_recording_row_3(committed_client, regulator, other))
    response = await _import(committed_client, regulator, busy, 5)
    assert response.status_code == 200, response.text
    report = response.json()
    assert [c["line"] for c in report["created"]] == [2, 3, 5, 6]
    assert [r["line"] for r in report["rejected"]] == [4]
    assert "already recorded" in report["rejected"][0]["reasons"][0]["message"]
    assert await _committed_violations(engine, busy) == 4


async def test_an_atomic_import_meeting_a_case_recorded_since_imports_nothing(
    engine: AsyncEngine,
    committed_client: AsyncClient,
    listen: Callable[[Listener], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "BATCH", 2)  # rows 1-2 are written before row 3 is
    regulator, busy, other = await committed_regulator_and_two(engine)
    listen(_recording_row_3(committed_client, regulator, other))
    async with AsyncSession(engine, expire_on_commit=False) as importer:
        with pytest.raises(Conflict, match="case_no '块3' exists"):
            await imports.run(importer, SYSTEM, _csv(busy, 4), "atomic")
        await importer.rollback()
    assert await _committed_violations(engine, busy) == 0
    assert await _committed_violations(engine, other) == 1
