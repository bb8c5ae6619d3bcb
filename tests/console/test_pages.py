"""Console pages: signals charted, overdue complaints, a complaint's clock, forms."""

from __future__ import annotations

import datetime as dt

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import chart
from app.core.clock import frozen, today
from app.core.settings import Settings
from app.signals import job
from app.signals.models import Signal
from tests.complaints.helpers import PERSON, complaint_body
from tests.console.helpers import login
from tests.factories import make_key, make_organization


def test_chart_draws_series_band_and_alarms() -> None:
    days = [dt.date(2026, 11, d) for d in range(1, 11)]
    svg = chart.series_svg(
        days, [1, 2, 1, 0, 1, 2, 1, 1, 2, 9], expected=1.2, bound=4.2, alarms={days[-1]}, title="t"
    )
    assert svg.startswith("<svg") and 'class="series"' in svg and 'class="band"' in svg
    assert svg.count('class="alarm"') == 1 and "2026-11-10: 9" in svg
    empty = chart.series_svg([], [], expected=0, bound=0, alarms=set(), title="<空>")
    assert "<polyline" not in empty and "&lt;空&gt;" in empty


async def test_signals_overdue_complaints_and_a_complaint_clock(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    test_settings: Settings,
) -> None:
    uscc = await make_organization(session, region_code="330106")
    ids = []
    for _ in range(6):
        response = await client.post(
            "/v1/complaints", json=complaint_body(uscc=uscc), headers=regulator
        )
        ids.append(response.json()["id"])
    await job.run_day(session, today(), test_settings)
    await session.commit()
    signal = await session.scalar(select(Signal).where(Signal.method == "ears_c2"))
    assert signal is not None
    cookie, csrf = await login(client, regulator)
    home = await client.get("/console", headers=cookie)
    assert f"/console/signals/{signal.id}" in home.text and "<svg" in home.text
    assert 'class="alarm"' in home.text
    detail = await client.get(f"/console/signals/{signal.id}", headers=cookie)
    assert "EARS C2" in detail.text and 'lang="en"' in detail.text
    moved = await client.post(
        f"/console/signals/{signal.id}/transitions",
        data={"to": "triaged", "csrf": csrf},
        headers=cookie,
    )
    assert moved.status_code == 303
    assert await session.scalar(select(Signal.status).where(Signal.id == signal.id)) == "triaged"
    no_token = await client.post(
        f"/console/signals/{signal.id}/transitions", data={"to": "escalated"}, headers=cookie
    )
    assert no_token.status_code == 403

    due = dt.date.fromisoformat(
        (await client.get(f"/v1/complaints/{ids[0]}", headers=regulator)).json()["due_on"]
    )
    with frozen(due + dt.timedelta(days=1)):
        late = await client.get("/console", headers=cookie)
        assert f"/console/complaints/{ids[0]}" in late.text and "已逾期" in late.text
        page = await client.get(f"/console/complaints/{ids[0]}", headers=cookie)
        assert due.isoformat() in page.text and "已逾期" in page.text
        assert PERSON["phone"] in page.text  # the handling regulator sees the complainant
    accepted = await client.post(
        f"/console/complaints/{ids[0]}/transitions",
        data={"to": "accepted", "csrf": csrf},
        headers=cookie,
    )
    assert accepted.status_code == 303
    wrong = await client.post(
        f"/console/complaints/{ids[0]}/transitions",
        data={"to": "verified", "csrf": csrf},
        headers=cookie,
    )
    assert wrong.status_code == 409


async def test_the_console_lists_pending_approvals_and_quiet_duties(
    client: AsyncClient, session: AsyncSession, four_eyes: None
) -> None:
    proposer = await make_key(session, "regulator", official="张科长")
    reader = await make_key(session, "regulator", official="李处长")
    cookie, _ = await login(client, reader)
    quiet = await client.get("/console", headers=cookie)
    for line in (
        "没有待审批的事项。",
        "没有逾期的异议。",
        "没有事先告知。",
        "没有停用的推送地址。",
    ):
        assert line in quiet.text
    proposed = await client.post(
        "/v1/lists/black/publications", json={"note": "月度"}, headers=proposer
    )
    assert proposed.status_code == 202, proposed.text
    home = await client.get("/console", headers=cookie)
    assert "待审批事项（两人审核）" in home.text
    assert "black_list.publish" in home.text and "张科长" in home.text
    assert "没有待审批的事项。" not in home.text
