"""A person on a phone and on a desktop: search the home page for a two-character
fragment, open the enterprise, see its grade timeline; every link on the way
works and nothing scrolls sideways (headless Chromium, against a live server)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import today
from tests.browser import screenshot, wait_for
from tests.factories import committed_key, random_uscc
from tests.records.helpers import grade, violation

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


async def _seed(base: str, headers: dict[str, str]) -> str:
    """An AAA enterprise with a general violation a month ago (AAA, then C), on the
    red list published as of a year ago; the black list published today."""
    uscc = random_uscc("330106")
    now = today()
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        body = {"name": "杭州华康电器有限公司", "address": "浙江省杭州市1号"}
        assert (await http.put(f"/v1/organizations/{uscc}", json=body)).status_code == 201
        created = await http.post(
            f"/v1/organizations/{uscc}/grades",
            json=grade(
                grade="AAA",
                assessed_on=(now - dt.timedelta(days=700)).isoformat(),
                valid_until=None,
            ),
        )
        assert created.status_code == 201, created.text
        created = await http.post(
            f"/v1/organizations/{uscc}/violations",
            json=violation(
                severity="general", decided_on=(now - dt.timedelta(days=30)).isoformat()
            ),
        )
        assert created.status_code == 201, created.text
        as_of = (now - dt.timedelta(days=365)).isoformat()
        published = await http.post("/v1/lists/red/publications", json={"as_of": as_of})
        assert published.status_code == 201, published.text
        assert (await http.post("/v1/lists/black/publications", json={})).status_code == 201
    return uscc


def _no_horizontal_scroll(browser: Any) -> None:
    width = browser.execute_script("return document.documentElement.scrollWidth")
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    assert width <= viewport, f"the page is {width}px wide in a {viewport}px window"


async def _links_work(base: str, browser: Any) -> None:
    hrefs = {
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")
        if a.get_attribute("href")
    }
    async with httpx.AsyncClient() as http:
        for href in sorted(hrefs):
            url = urljoin(base, href)
            if not url.startswith(base):
                continue
            response = await http.get(url)
            assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_a_person_finds_an_enterprise_from_the_home_page(
    live_server: str, browser: Any, engine: AsyncEngine, size: str
) -> None:
    browser.set_window_size(*SIZES[size])
    uscc = await _seed(live_server, await committed_key(engine, "regulator"))

    browser.get(live_server + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "企业质量信用查询"
    _no_horizontal_scroll(browser)
    await _links_work(live_server, browser)
    screenshot(browser, f"home-{size}")

    browser.find_element(By.ID, "q").send_keys("华康")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    wait_for(browser, lambda d: "q=" in d.current_url)
    results = browser.find_elements(By.CSS_SELECTOR, "#results-heading + ul.results li")
    assert len(results) == 1 and "杭州华康电器有限公司" in results[0].text
    _no_horizontal_scroll(browser)
    await _links_work(live_server, browser)
    screenshot(browser, f"home-search-{size}")

    results[0].find_element(By.LINK_TEXT, "杭州华康电器有限公司").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/organizations/{uscc}"))
    svg = browser.find_element(By.CSS_SELECTOR, "svg.timeline")
    assert svg.size["width"] > 200
    steps = [c.get_attribute("textContent") for c in svg.find_elements(By.CSS_SELECTOR, "circle")]
    grades = [s.split(" 起 ")[1] for s in steps]
    assert grades[-2:] == ["AAA", "C"], steps
    assert svg.find_elements(By.CSS_SELECTOR, "rect.mark-red")
    _no_horizontal_scroll(browser)
    await _links_work(live_server, browser)
    browser.execute_script("arguments[0].scrollIntoView()", svg)
    screenshot(browser, f"organization-timeline-{size}")

    browser.find_element(By.CSS_SELECTOR, "a.site-name").click()
    wait_for(browser, lambda d: d.current_url.rstrip("/") == live_server)
    assert browser.find_element(By.TAG_NAME, "h1").text == "企业质量信用查询"
