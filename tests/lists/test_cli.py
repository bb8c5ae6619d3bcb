"""`qcr lists publish red|black [--as-of DATE]` on a real, separate database."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app import cli
from app.core.principal import SYSTEM
from app.core.settings import get_settings
from app.lists.models import ListEntry
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationWrite
from app.records import service as record_service
from app.records.kinds import VIOLATION
from app.records.schemas import ViolationCreate
from tests.conftest import TEST_SIGNING_KEY, DatabaseUnderTest
from tests.factories import random_uscc
from tests.lists.conftest import TODAY
from tests.scratch import scratch_database, scratch_url


@pytest.fixture
def scratch(test_database: DatabaseUnderTest) -> Iterator[str]:
    name = test_database.name + "_lists_cli"
    with scratch_database(scratch_url(test_database.owner_url, name)) as url:
        yield url


async def _black_listed_organization(url: str) -> str:
    engine = create_async_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        uscc = random_uscc()
        org, _ = await organization_service.upsert(
            session, SYSTEM, uscc, OrganizationWrite(name="命令行测试有限公司")
        )
        body = ViolationCreate(
            case_no="京市监罚〔2026〕1号",
            authority="北京市市场监督管理局",
            decided_on=TODAY - dt.timedelta(days=3),
            category="产品质量",
            severity="serious",
            public_summary="生产不合格产品",
        )
        await record_service.create(session, SYSTEM, VIOLATION, org, body)
        await session.commit()
    await engine.dispose()
    return uscc


async def _lines(url: str, kind: str, number: int) -> list[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.scalars(
            select(ListEntry.line)
            .where(ListEntry.kind == kind, ListEntry.number == number)
            .order_by(ListEntry.ordinal)
        )
        lines = list(rows)
    await engine.dispose()
    return lines


def test_cli_publishes_both_kinds(
    scratch: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch)
    monkeypatch.setenv("QCR_FOUR_EYES", "false")  # a one-person office
    monkeypatch.setenv("QCR_AUDIT_SIGNING_KEY", TEST_SIGNING_KEY)
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        uscc = asyncio.run(_black_listed_organization(scratch))
        capsys.readouterr()

        assert cli.main(["lists", "publish", "black", "--note", "月度公布"]) == 0
        out = capsys.readouterr().out
        assert f"published black list 1 as of {TODAY.isoformat()}: 1 entries" in out
        lines = asyncio.run(_lines(scratch, "black", 1))
        assert uscc in lines[0]
        digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
        assert f"sha256 {digest}" in out

        yesterday = (TODAY - dt.timedelta(days=4)).isoformat()
        assert cli.main(["lists", "publish", "black", "--as-of", yesterday]) == 0
        assert f"published black list 2 as of {yesterday}: 0 entries" in capsys.readouterr().out
        assert cli.main(["lists", "publish", "red"]) == 0
        assert "published red list 1" in capsys.readouterr().out

        tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
        assert cli.main(["lists", "publish", "black", "--as-of", tomorrow]) == 2
        assert "after today" in capsys.readouterr().err
        assert cli.main(["lists", "publish", "black", "--as-of", "2026-13-01"]) == 2
        assert "not a date" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            cli.main(["lists", "publish", "green"])
    finally:
        get_settings.cache_clear()
