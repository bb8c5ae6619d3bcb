"""Private data never reaches a log line, stdout, stderr or an error answer, on the
error paths too: a 422, a 409, a 503, a forced 500 and the daily refresher's
failure. Every logger is turned up to DEBUG (SQLAlchemy then logs each statement,
its parameters hidden by `hide_parameters=True`), and what the process printed is
searched for the private values sent: a legal representative, an internal
description and a complainant's contact."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.database import Database, make_engine
from app.core.settings import Settings
from app.credit import refresher
from app.credit import service as credit_service
from app.main import create_app
from app.organizations import service as organization_service
from tests.factories import make_organization, random_uscc
from tests.records.helpers import violation
from tests.waiting import wait_for

REPRESENTATIVE = "法人隐私丙丁"
DESCRIPTION = "内部描述隐私戊己"
CONTACT = "private-contact-7@example.com"
SECRETS = (REPRESENTATIVE, DESCRIPTION, CONTACT)


class Output:
    """Everything the process wrote while the test ran: stdout, stderr, log records."""

    def __init__(self, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture):
        self.capfd, self.caplog, self.seen = capfd, caplog, ""

    def read(self) -> str:
        out, err = self.capfd.readouterr()
        records = "\n".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}"
            for r in self.caplog.records
        )
        self.seen += out + err + records + self.caplog.text
        return self.seen

    def assert_private_absent(self, *responses: Response) -> None:
        seen = self.read() + "".join(r.text for r in responses)
        for secret in SECRETS:
            assert secret not in seen, f"{secret!r} was printed, logged or answered"


@pytest.fixture
def output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Output]:
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's statements included
    yield Output(capfd, caplog)


def _organization(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "隐私测试有限公司",
        "address": "北京市海淀区1号",
        "legal_representative": REPRESENTATIVE,
    } | overrides


def test_the_engine_hides_statement_parameters(engine: AsyncEngine) -> None:
    assert engine.sync_engine.hide_parameters


async def test_a_422_prints_nothing_private(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], output: Output
) -> None:
    uscc = await make_organization(session)
    bad_organization = await client.put(
        f"/v1/organizations/{random_uscc()}",
        json=_organization(name="", region_code="9" * 40),
        headers=regulator,
    )
    tomorrow_violation = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(description=DESCRIPTION, decided_on="2999-01-01"),
        headers=regulator,
    )
    assert (bad_organization.status_code, tomorrow_violation.status_code) == (422, 422)
    output.assert_private_absent(bad_organization, tomorrow_violation)


async def test_a_409_prints_nothing_private(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], output: Output
) -> None:
    uscc = await make_organization(session, legal_representative=REPRESENTATIVE)
    body = violation(description=DESCRIPTION)
    first = await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=regulator)
    assert first.status_code == 201
    output.read()  # the regulator's own 201 may hold the description; the 409 may not
    again = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=body | {"description": DESCRIPTION + "2"},
        headers=regulator,
    )
    assert again.status_code == 409
    output.seen = ""
    output.assert_private_absent(again)


async def test_a_503_prints_nothing_private(
    test_settings: Settings, output: Output, regulator: dict[str, str]
) -> None:
    # A database that cannot be reached: nothing listens on port 9.
    dead = make_engine("postgresql+asyncpg://qcr_app@127.0.0.1:9/none", test_settings)
    app = create_app(test_settings, database=Database(dead))
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            response = await client.put(
                f"/v1/organizations/{random_uscc()}", json=_organization(), headers=regulator
            )
    finally:
        await dead.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    output.assert_private_absent(response)


async def _fail_with_the_private_values(session: AsyncSession) -> None:
    """A database error whose statement carries the private values as parameters."""
    await session.execute(
        text("SELECT qcr_no_such_function(:a, :b, :c)"),
        {"a": REPRESENTATIVE, "b": DESCRIPTION, "c": CONTACT},
    )


async def test_a_forced_500_prints_nothing_private(
    app: FastAPI, regulator: dict[str, str], output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_upsert(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        await _fail_with_the_private_values(session)

    monkeypatch.setattr(organization_service, "upsert", failing_upsert)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.put(
            f"/v1/organizations/{random_uscc()}", json=_organization(), headers=regulator
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    output.assert_private_absent(response)


async def test_the_refreshers_failure_prints_nothing_private(
    engine: AsyncEngine,
    test_settings: Settings,
    output: Output,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def failing_refresh(session: AsyncSession, *args: Any, **kwargs: Any) -> int:
        await _fail_with_the_private_values(session)
        return 0

    monkeypatch.setattr(credit_service, "refresh_due", failing_refresh)
    task = asyncio.create_task(refresher.run_daily(Database(engine), test_settings))
    try:
        await wait_for(lambda: "credit_refresh_failed" in output.read(), "the refresh to fail")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "qcr_no_such_function" in output.seen  # the failure itself is logged
    output.assert_private_absent()
