"""The public home page `GET /` (SPEC §8.1) and the organization page's timeline."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.policy import policy
from app.web import timeline
from tests.factories import make_organization
from tests.records.helpers import days_ago, grade, violation


async def test_home_searches_by_a_two_character_fragment(
    client: AsyncClient, session: AsyncSession
) -> None:
    uscc = await make_organization(session, name="杭州华康电器有限公司")
    await make_organization(session, name="宁波市海风建材有限公司")
    page = await client.get("/", params={"q": "华康"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'href="/organizations/{uscc}"' in page.text
    assert "杭州华康电器有限公司" in page.text and "海风建材" not in page.text
    # By code too (the legacy organization code, with a hyphen), and full-width input.
    by_code = await client.get("/", params={"q": f"{uscc[8:16]}-{uscc[16]}"})
    assert f'href="/organizations/{uscc}"' in by_code.text
    assert f'href="/organizations/{uscc}"' in (await client.get("/", params={"q": "华康"})).text
    nothing = await client.get("/", params={"q": "不存在的企业名"})
    assert nothing.status_code == 200 and "没有找到" in nothing.text
    assert (await client.get("/", params={"q": "长" * 101})).status_code == 422


async def test_home_shows_the_latest_lists_and_how_to_verify(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    bad = await make_organization(session, name="杭州劣质电器有限公司")
    made = await client.post(
        f"/v1/organizations/{bad}/violations",
        json=violation(severity="serious", decided_on=days_ago(5)),
        headers=regulator,
    )
    assert made.status_code == 201
    published = await client.post("/v1/lists/black/publications", json={}, headers=regulator)
    assert published.status_code == 201
    page = (await client.get("/")).text
    assert "最新红黑榜" in page
    assert f'href="/organizations/{bad}"' in page
    assert "红榜尚未发布" in page
    assert "如何核验商品上的二维码" in page and "如何核验下载的名单" in page
    assert "<script" not in page


async def test_every_page_links_home(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    for path in ("/", "/lists", "/lists/red", f"/organizations/{uscc}", "/organizations/X"):
        page = await client.get(path)
        assert 'href="/"' in page.text, path
        if path != "/":  # and can search from there (issue #13 item 9)
            assert 'class="site-search" method="get" action="/"' in page.text, path


def test_grade_steps_are_the_engines_answers() -> None:
    today = dt.date(2026, 6, 15)
    start = dt.date(2021, 6, 15)
    serious = policy.Violation(
        id=uuid.uuid4(),
        case_no="X",
        authority="A",
        decided_on=dt.date(2023, 3, 1),
        severity="serious",
        public_summary="s",
    )
    assessment = policy.Assessment(
        id=uuid.uuid4(),
        grade="AA",
        assessed_on=dt.date(2022, 1, 10),
        valid_until=None,
    )
    hist = policy.History(status="active", assessments=(assessment,), violations=(serious,))
    steps = timeline.grade_steps(hist, start, today)
    assert [(s.since, s.grade) for s in steps] == [
        (start, "B"),
        (dt.date(2022, 1, 10), "AA"),
        (dt.date(2023, 3, 1), "D"),
        (dt.date(2026, 3, 1), "AA"),
    ]
    for step in steps:  # each step is what the engine says on its first day
        assert policy.evaluate(hist, step.since).grade == step.grade


async def test_organization_page_draws_its_grade_timeline(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session, name="温州时间线电器有限公司")
    await client.post(
        f"/v1/organizations/{uscc}/grades",
        json=grade(grade="AAA", assessed_on=days_ago(400), valid_until=None),
        headers=regulator,
    )
    await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(severity="general", decided_on=days_ago(30)),
        headers=regulator,
    )
    await client.post(
        "/v1/lists/red/publications", json={"as_of": days_ago(100)}, headers=regulator
    )
    page = (await client.get(f"/organizations/{uscc}")).text
    svg = re.search(r"<svg class=\"timeline\".*?</svg>", page, re.S)
    assert svg is not None
    assert '<title id="timeline-title">近五年信用等级变化' in svg.group(0)
    assert f"{days_ago(400)} 起 AAA" in svg.group(0)
    assert f"{days_ago(30)} 起 C" in svg.group(0)
    assert 'class="mark mark-red"' in svg.group(0)
    assert "<script" not in page
