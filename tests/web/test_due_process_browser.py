"""Due process on the public pages, on a phone and on a desktop (headless
Chromium, live server): the organization page shows a record under objection
with the badge "异议处理中" and the retraction of a wrong listing; the black list
shows the correction publication, while the original stays as it was published.
Screenshots go to test-artifacts/ (SPEC §8.1, §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import today
from tests.browser import screenshot
from tests.factories import committed_key, random_uscc
from tests.records.helpers import violation
from tests.web.test_home_browser import SIZES, _links_work, _no_horizontal_scroll

WRONG = "杭州错列电器有限公司"
RIGHT = "宁波确列建材有限公司"


async def _seed(base: str, engine: AsyncEngine) -> tuple[str, str]:
    """Two black-listed enterprises on publication 1; the first objects to its
    violation and is retracted from publication 1 by publication 2."""
    regulator = await committed_key(engine, "regulator")
    usccs = (random_uscc("330106"), random_uscc("330206"))
    decided = (today() - dt.timedelta(days=30)).isoformat()
    async with httpx.AsyncClient(base_url=base, headers=regulator) as http:
        violations = []
        for uscc, name in zip(usccs, (WRONG, RIGHT), strict=True):
            body = {"name": name, "address": "浙江省杭州市1号"}
            assert (await http.put(f"/v1/organizations/{uscc}", json=body)).status_code == 201
            made = await http.post(
                f"/v1/organizations/{uscc}/violations",
                json=violation(
                    severity="serious",
                    decided_on=decided,
                    public_summary="生产销售不合格电热水壶，没收违法所得并罚款",
                ),
            )
            assert made.status_code == 201, made.text
            violations.append(made.json())
        published = await http.post("/v1/lists/black/publications", json={})
        assert published.status_code == 201 and published.json()["number"] == 1
        own = await committed_key(engine, "enterprise", usccs[0])
        objection = {
            "record_type": "violation",
            "record_id": violations[0]["id"],
            "grounds": "处罚决定书送达对象错误，已申请行政复议",
        }
        filed = await http.post("/v1/objections", json=objection, headers=own)
        assert filed.status_code == 201, filed.text
        retraction = {"uscc": [usccs[0]], "reason": "处罚对象认定错误"}
        retracted = await http.post("/v1/lists/black/publications/1/retractions", json=retraction)
        assert retracted.status_code == 201, retracted.text
        assert retracted.json()["number"] == 2
    return usccs


@pytest.mark.usefixtures("v1_throughout")  # listed at once, without a notice period
@pytest.mark.parametrize("size", sorted(SIZES))
async def test_disputed_badge_retraction_and_correction_publication(
    live_server: str, browser: Any, engine: AsyncEngine, size: str
) -> None:
    browser.set_window_size(*SIZES[size])
    wrong, right = await _seed(live_server, engine)

    browser.get(f"{live_server}/organizations/{wrong}")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(WRONG)
    # (Under v1 the credit reasons are not marked: that is v2's, tests/dueprocess.)
    badge = browser.find_element(By.CSS_SELECTOR, "table .badge-disputed")
    assert badge.text == "异议处理中" and badge.is_displayed()
    assert badge.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "处罚决定书送达对象错误" not in main  # the grounds are the enterprise's, not public
    notice = browser.find_element(By.CSS_SELECTOR, "p.retractions")
    assert "错误列入已更正" in notice.text and "黑榜第 2 期" in notice.text
    assert "更正第 1 期" in notice.text and "处罚对象认定错误" in notice.text
    _no_horizontal_scroll(browser)
    await _links_work(live_server, browser)
    browser.execute_script("arguments[0].scrollIntoView()", notice)
    screenshot(browser, f"organization-retracted-{size}")
    browser.execute_script("arguments[0].scrollIntoView()", badge)
    screenshot(browser, f"organization-disputed-{size}")

    notice.find_element(By.LINK_TEXT, "黑榜第 2 期").click()
    browser.find_element(By.CSS_SELECTOR, "div.alert-correction")  # waits for the page
    assert browser.current_url.endswith("/lists/black/2")
    lead = browser.find_element(By.CSS_SELECTOR, "p.lead").text
    assert "第 2 期" in lead and "往期" not in lead  # the latest, reached by its number
    correction = browser.find_element(By.CSS_SELECTOR, "div.alert-correction").text
    assert "本期为更正公布" in correction and "第 1 期" in correction
    assert WRONG in correction and wrong in correction and "处罚对象认定错误" in correction
    rows = browser.find_elements(By.CSS_SELECTOR, "table.entries tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, ".uscc").text for r in rows] == [right]
    _no_horizontal_scroll(browser)
    await _links_work(live_server, browser)
    screenshot(browser, f"black-list-correction-{size}")

    # The latest black list is the correction; the original stays as published.
    browser.get(f"{live_server}/lists/black")
    assert "本期为更正公布" in browser.find_element(By.CSS_SELECTOR, "div.alert-correction").text
    browser.find_element(By.CSS_SELECTOR, "div.alert-correction a").click()
    browser.find_element(By.CSS_SELECTOR, "table.entries")
    assert browser.current_url.endswith("/lists/black/1")
    assert "第 1 期（往期）" in browser.find_element(By.CSS_SELECTOR, "p.lead").text
    assert not browser.find_elements(By.CSS_SELECTOR, "div.alert-correction")
    original = {
        r.find_element(By.CSS_SELECTOR, ".uscc").text
        for r in browser.find_elements(By.CSS_SELECTOR, "table.entries tbody tr")
    }
    assert original == {wrong, right}
    _no_horizontal_scroll(browser)
    screenshot(browser, f"black-list-original-{size}")
