"""`qcr audit verify` names the first forged entry, changed entry, or head that
the log no longer matches — even when the owner role did it.

The tamper matrix (SPEC §7): a committed log with three signed heads and a
publication's witness is copied per case, tampered with by the owner (triggers
lifted), and each tamper is named — the same words — by the library
(`app.audit.verify`) and by `qcr audit verify`, which exits 1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app import cli
from app.audit import verify
from app.audit.models import AuditEntry
from app.core import migrations
from app.core.settings import Settings, get_settings
from app.journal import heads, leaf, merkle, sequencer, tree, witness
from app.journal.models import LogLeaf, TreeHead
from tests.conftest import TEST_SIGNING_KEY, DatabaseUnderTest
from tests.factories import make_organization
from tests.scratch import scratch_database, scratch_url


@pytest.fixture
async def owner_session(owner_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """The owner's transaction, rolled back at the end; it may lift the triggers."""
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        yield AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", info={witness.INLINE: True}
        )
        await outer.rollback()


async def _log(session: AsyncSession, settings: Settings, organizations: int = 4) -> int:
    for _ in range(organizations):
        await make_organization(session)
    done = await sequencer.sequence_pending(session, heads.load_signer(settings))
    return done.tree_size


async def _bypass_triggers(session: AsyncSession) -> None:
    await session.execute(text("SET LOCAL session_replication_role = replica"))


async def test_an_intact_log_verifies(owner_session: AsyncSession, test_settings: Settings) -> None:
    size = await _log(owner_session, test_settings)
    report = await verify.verify(owner_session)
    assert report.failure is None
    assert report.leaves == size and report.heads >= 1


# Each of the leaf's fields changed in a stored entry (SQL over the row's own value).
CHANGED_FIELD = {
    "at": "at + interval '1 microsecond'",
    "actor_key_id": "CASE WHEN actor_key_id IS NULL THEN gen_random_uuid() END",
    "actor_role": "CASE WHEN actor_role = 'admin' THEN 'regulator' ELSE 'admin' END",
    "action": "action || 'x'",
    "entity": "entity || 'x'",
    "entity_id": "entity_id || 'x'",
    "before": "coalesce(before, '{}'::jsonb) || '{\"x\": 1}'",
    "after": "coalesce(after, '{}'::jsonb) || '{\"x\": 1}'",
}


async def test_a_change_to_any_field_of_an_entry_is_named(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    assert set(CHANGED_FIELD) == set(leaf.LEAF_FIELDS)  # every field the leaf covers
    size = await _log(owner_session, test_settings)
    await _bypass_triggers(owner_session)
    entry_id = (await _entry(owner_session, size - 1)).id
    for field, changed in CHANGED_FIELD.items():
        attempt = await owner_session.begin_nested()
        await owner_session.execute(
            text(f"UPDATE audit_entries SET {field} = {changed} WHERE id = :i"), {"i": entry_id}
        )
        owner_session.expunge_all()
        report = await verify.verify(owner_session)
        assert report.failure is not None, field
        assert report.failure.startswith(f"entry seq {size - 1} (id {entry_id}, "), field
        assert report.failure.endswith("do not match its leaf bytes"), field
        await attempt.rollback()
    owner_session.expunge_all()
    assert (await verify.verify(owner_session)).failure is None


async def test_a_forged_row_inserted_by_the_owner_is_named(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    # The owner appends an entry and a leaf for it, and signs a head with a key
    # of its own: it does not have the registry's key.
    await owner_session.execute(
        text(
            "INSERT INTO audit_entries (at, actor_role, action, entity, entity_id, leaf) "
            "VALUES (now(), 'admin', 'forged', 'organization', 'x', 'not the fields')"
        )
    )
    await owner_session.execute(
        text(
            "INSERT INTO audit_log (seq, entry_id, leaf_hash, sequenced_at) "
            "SELECT :s, max(id), :h, now() FROM audit_entries"
        ),
        {"s": size + 1, "h": merkle.leaf_hash(b"not the fields").hex()},
    )
    report = await verify.verify(owner_session)
    assert report.failure is not None
    assert report.failure.startswith(f"entry seq {size + 1} ")


async def test_a_head_signed_with_another_key_is_named(
    owner_session: AsyncSession, test_settings: Settings
) -> None:
    size = await _log(owner_session, test_settings)
    impostor = heads.signer_from_seed("A" * 43 + "=")
    await _bypass_triggers(owner_session)
    await owner_session.execute(
        text("DELETE FROM audit_tree_heads WHERE tree_size = :s"), {"s": size}
    )
    head = await heads.sign(owner_session, impostor, size)
    await owner_session.execute(
        text("UPDATE audit_tree_heads SET key_id = :k WHERE tree_size = :s"),
        {"k": heads.load_signer(test_settings).key_id, "s": head.tree_size},
    )
    owner_session.expunge_all()
    report = await verify.verify(owner_session)
    assert report.failure == f"tree head of size {size}: its signature does not verify"


# The tamper matrix ------------------------------------------------------------


@dataclass(frozen=True)
class Log:
    """The template log: signed heads at `first` < `witness` < `last`; the red list's
    publication 1 carries the head of size `witness` as its witness."""

    first: int
    witness: int
    last: int


async def _write_and_sequence(url: str, organizations: int, *, sequence: bool) -> None:
    engine = create_async_engine(url)
    async with AsyncSession(engine) as session:
        for _ in range(organizations):
            await make_organization(session)
        await session.commit()
    if sequence:
        assert await sequencer.catch_up(engine, heads.signer_from_seed(TEST_SIGNING_KEY))
    await engine.dispose()


async def _shape(url: str) -> Log:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        sizes = list(await conn.scalars(text("SELECT tree_size FROM audit_tree_heads ORDER BY 1")))
        witnessed = await conn.scalar(
            text("SELECT audit_seq FROM list_publications WHERE kind = 'red' AND number = 1")
        )
    await engine.dispose()
    assert len(sizes) == 3 and sizes[1] == witnessed, (sizes, witnessed)
    return Log(first=sizes[0], witness=sizes[1], last=sizes[2])


@pytest.fixture(scope="module")
def template(test_database: DatabaseUnderTest) -> Iterator[tuple[str, Log]]:
    """A committed log on its own database: entries, a head, more entries, the red
    list published (its witness a second head), more entries, a third head."""
    name = test_database.name + "_tamper"
    with scratch_database(scratch_url(test_database.owner_url, name)) as url:
        migrations.upgrade(url)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DATABASE_URL", url)
            env.setenv("QCR_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
            env.setenv("QCR_FOUR_EYES", "false")
            get_settings.cache_clear()
            try:
                asyncio.run(_write_and_sequence(url, 4, sequence=True))
                asyncio.run(_write_and_sequence(url, 3, sequence=False))
                assert cli.main(["lists", "publish", "red"]) == 0
                asyncio.run(_write_and_sequence(url, 3, sequence=True))
            finally:
                get_settings.cache_clear()
        yield url, asyncio.run(_shape(url))


@pytest.fixture
def tampered_copy(template: tuple[str, Log]) -> Iterator[tuple[str, Log]]:
    """A fresh copy of the template for one tamper."""
    url, log = template
    original = make_url(url).database
    with scratch_database(scratch_url(url, f"{original}_copy"), template=original) as copy:
        yield copy, log


def _cli_verify(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`qcr audit verify` on the database of `url`: its exit code and stdout."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("QCR_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    get_settings.cache_clear()
    capsys.readouterr()
    try:
        code = cli.main(["audit", "verify"])
    finally:
        get_settings.cache_clear()
    return code, capsys.readouterr().out


Tamper = Callable[[AsyncSession, Log], Awaitable[str]]  # returns the expected failure (regex)
ENTRY = r"\(id \d+, [\w.]+\)"  # how a failure names an entry after its seq


async def _entry(session: AsyncSession, seq: int) -> AuditEntry:
    entry = await session.scalar(
        select(AuditEntry)
        .join(LogLeaf, LogLeaf.entry_id == AuditEntry.id)
        .where(LogLeaf.seq == seq)
    )
    assert entry is not None
    return entry


def _forged_leaf(entry: AuditEntry) -> tuple[dict[str, object], bytes]:
    after = {**(entry.after or {}), "name": "伪造有限公司"}
    raw = leaf.leaf_bytes(
        at=entry.at, actor_key_id=entry.actor_key_id, actor_role=entry.actor_role,
        action=entry.action, entity=entry.entity, entity_id=entry.entity_id,
        before=entry.before, after=after,
    )  # fmt: skip
    return after, raw


async def _swap_log_rows(session: AsyncSession, a: int, b: int, *, leaf_hashes: bool) -> None:
    """Entries `a` and `b` change places in the log, with their leaf hashes or not
    (`entry_id` is unique: parked on -1 in between)."""
    rows = {
        r.seq: r
        for r in await session.execute(
            text("SELECT seq, entry_id, leaf_hash FROM audit_log WHERE seq IN (:a, :b)"),
            {"a": a, "b": b},
        )
    }
    await session.execute(text("UPDATE audit_log SET entry_id = -1 WHERE seq = :a"), {"a": a})
    for here, there in ((b, a), (a, b)):
        await session.execute(
            text("UPDATE audit_log SET entry_id = :e, leaf_hash = :h WHERE seq = :s"),
            {
                "e": rows[there].entry_id,
                "h": rows[there if leaf_hashes else here].leaf_hash,
                "s": here,
            },
        )


async def altered_after(session: AsyncSession, log: Log) -> str:
    await session.execute(
        text('UPDATE audit_entries SET after = after || \'{"name": "伪造"}\' WHERE id = :i'),
        {"i": (await _entry(session, 2)).id},
    )
    return rf"entry seq 2 {ENTRY}: its fields \(before, after, \.\.\.\) do not match its leaf bytes"


async def altered_with_its_leaf_bytes(session: AsyncSession, log: Log) -> str:
    entry = await _entry(session, 2)
    entry.after, entry.leaf = _forged_leaf(entry)
    await session.flush()
    return rf"entry seq 2 {ENTRY}: its leaf_hash is not the hash of its leaf bytes"


async def altered_with_its_leaf_hash(session: AsyncSession, log: Log) -> str:
    entry = await _entry(session, 2)
    entry.after, entry.leaf = _forged_leaf(entry)
    await session.execute(
        text("UPDATE audit_log SET leaf_hash = :h WHERE seq = 2"),
        {"h": merkle.leaf_hash(entry.leaf).hex()},
    )
    await session.flush()
    return r"entries seq 1–2: the stored subtree hash \(level 1, index 0\) does not match"


async def deleted_entry(session: AsyncSession, log: Log) -> str:
    entry = await _entry(session, 3)
    await session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    await session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry.id})
    return r"entry seq 3 is missing from the log \(next is 4\)"


async def deleted_entry_row_only(session: AsyncSession, log: Log) -> str:
    """The entry goes; its log row stays, pointing at nothing."""
    entry = await _entry(session, 3)
    await session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": entry.id})
    return r"entry seq 3 is missing from the log \(next is 4\)"


async def reordered_log_rows(session: AsyncSession, log: Log) -> str:
    """Entries 3 and 4 change places with their leaf hashes: every leaf matches."""
    await _swap_log_rows(session, 3, 4, leaf_hashes=True)
    return r"entries seq 3–4: the stored subtree hash \(level 1, index 1\) does not match"


async def reordered_entries(session: AsyncSession, log: Log) -> str:
    """Entries 3 and 4 change places under the leaf hashes of their seqs."""
    await _swap_log_rows(session, 3, 4, leaf_hashes=False)
    return rf"entry seq 3 {ENTRY}: its leaf_hash is not the hash of its leaf bytes"


async def _truncate(session: AsyncSession, keep: int, *, heads_too: bool) -> None:
    """Remove every entry after seq `keep` (log rows, entries, subtree hashes beyond)."""
    await session.execute(
        text(
            "DELETE FROM audit_entries WHERE id IN (SELECT entry_id FROM audit_log WHERE seq > :k)"
        ),
        {"k": keep},
    )
    await session.execute(text("DELETE FROM audit_log WHERE seq > :k"), {"k": keep})
    await session.execute(
        text("DELETE FROM audit_tree_nodes WHERE (index + 1) * (1::bigint << level) > :k"),
        {"k": keep},
    )
    if heads_too:
        await session.execute(
            text("DELETE FROM audit_tree_heads WHERE tree_size > :k"), {"k": keep}
        )


async def truncated_tail(session: AsyncSession, log: Log) -> str:
    await _truncate(session, log.last - 2, heads_too=False)
    return (
        rf"tree head of size {log.last}: the log has only {log.last - 2} sequenced entries "
        r"\(entries were removed\)"
    )


async def truncated_tail_and_heads(session: AsyncSession, log: Log) -> str:
    """Heads beyond the cut go too: the publication's witness still names it."""
    await _truncate(session, log.first, heads_too=True)
    return rf"publication red/1: its witness covers {log.witness} entries; the log is shorter"


async def _rehash_suffix(session: AsyncSession, log: Log, first: int) -> None:
    """Rewrite every entry from seq `first` on, with its leaf bytes and leaf hash,
    and every subtree hash of the tree: all consistent but the heads."""
    hashes: list[bytes] = []
    for seq in range(1, log.last + 1):
        entry = await _entry(session, seq)
        if seq >= first:
            entry.after, entry.leaf = _forged_leaf(entry)
            await session.execute(
                text("UPDATE audit_log SET leaf_hash = :h WHERE seq = :s"),
                {"h": merkle.leaf_hash(entry.leaf).hex(), "s": seq},
            )
        hashes.append(merkle.leaf_hash(entry.leaf))
    await session.flush()
    await session.execute(text("DELETE FROM audit_tree_nodes"))
    none: dict[merkle.Block, bytes] = {}  # from scratch: no earlier blocks
    for level, index, digest in merkle.new_blocks(0, hashes, none.__getitem__):
        await session.execute(
            text("INSERT INTO audit_tree_nodes (level, index, hash) VALUES (:l, :i, :h)"),
            {"l": level, "i": index, "h": digest.hex()},
        )


async def rehashed_suffix(session: AsyncSession, log: Log) -> str:
    """The heads' roots rewritten too: the registry's signatures no longer hold."""
    await _rehash_suffix(session, log, 2)
    for head in await session.scalars(select(TreeHead)):
        head.root_hash = (await tree.root(session, head.tree_size)).hex()
    await session.flush()
    return rf"tree head of size {log.first}: its signature does not verify"


async def rehashed_suffix_and_resigned_heads(session: AsyncSession, log: Log) -> str:
    """Every head re-signed with the attacker's own key (registered as a key ever
    used): only the publication's witness, signed before, still holds the truth."""
    await _rehash_suffix(session, log, 2)
    await session.execute(text("DELETE FROM audit_tree_heads"))
    impostor = heads.signer_from_seed("A" * 43 + "=")
    for size in (log.first, log.witness, log.last):
        await heads.sign(session, impostor, size)
    return r"publication red/1: its witness root_hash does not match the log"


TAMPERS: list[Tamper] = [
    altered_after,
    altered_with_its_leaf_bytes,
    altered_with_its_leaf_hash,
    deleted_entry,
    deleted_entry_row_only,
    reordered_log_rows,
    reordered_entries,
    truncated_tail,
    truncated_tail_and_heads,
    rehashed_suffix,
    rehashed_suffix_and_resigned_heads,
]


async def _tamper_and_verify(url: str, log: Log, tamper: Tamper) -> tuple[str, str | None]:
    """Tamper as the owner (triggers lifted), commit; then the library's verdict."""
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await session.execute(text("SET LOCAL session_replication_role = replica"))
            expected = await tamper(session, log)
            await session.commit()
        async with AsyncSession(engine) as session:
            report = await verify.verify(session)
    finally:
        await engine.dispose()
    return expected, report.failure


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__ for t in TAMPERS])
def test_every_tamper_is_named_by_the_library_and_the_cli(
    tamper: Tamper,
    tampered_copy: tuple[str, Log],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, log = tampered_copy
    expected, failure = asyncio.run(_tamper_and_verify(url, log, tamper))
    assert failure is not None and re.match(expected, failure), failure
    code, out = _cli_verify(url, monkeypatch, capsys)
    assert code == 1
    assert f"audit log broken: {failure}\n" in out
    assert "audit log intact" not in out


def test_the_untampered_copy_verifies_through_the_cli(
    tampered_copy: tuple[str, Log],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, log = tampered_copy
    code, out = _cli_verify(url, monkeypatch, capsys)
    assert code == 0
    assert f"{log.last} leaves, 3 signed tree heads and 1 publication witnesses checked" in out
    assert "audit log intact" in out
