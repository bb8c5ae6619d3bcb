"""A shopper's phone (headless Chromium, 390×844) scans a recalled item: the recall
warning is the first thing on screen, and feedback goes through the plain form."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.browser import PHONE, screenshot, wait_for
from tests.codes.helpers import batch_body, code_path, product_body
from tests.factories import committed_key, committed_organization
from tests.records.helpers import recall


async def _recalled_item(live_server: str, engine: AsyncEngine) -> tuple[str, dict[str, str]]:
    uscc = await committed_organization(engine, name="宁波金鼎电器有限公司")
    regulator = await committed_key(engine, "regulator")
    async with AsyncClient(base_url=live_server, headers=regulator) as api:
        product = await api.post("/v1/products", json=product_body(uscc, name="金鼎电热水壶"))
        gtin = product.json()["gtin"]
        await api.post(f"/v1/products/{gtin}/batches", json=batch_body("L2026-11"))
        issued = await api.post(f"/v1/products/{gtin}/batches/L2026-11/codes", json={"count": 1})
        recalled = await api.post(
            f"/v1/organizations/{uscc}/recalls",
            json=recall(
                gtin=gtin,
                lots=["L2026-11"],
                product_name="金鼎电热水壶",
                hazard_class=1,
                remedy="立即停止使用，免费更换加热底座",
            ),
        )
        assert recalled.status_code == 201, recalled.text
    return code_path(issued.json()["first_uri"]), regulator


async def test_recall_warning_above_the_fold_and_feedback_form(
    live_server: str, browser: Any, engine: AsyncEngine
) -> None:
    path, regulator = await _recalled_item(live_server, engine)
    browser.get(live_server + path)
    warning = browser.find_element(By.CSS_SELECTOR, ".alert-recall[role=alert]")
    assert warning.is_displayed()
    assert "召回警告" in warning.text and "免费更换加热底座" in warning.text
    viewport = browser.execute_script("return window.innerHeight")
    assert viewport <= PHONE[1]
    box = warning.rect
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= viewport, (box, viewport)
    assert box["width"] <= PHONE[0]
    # Nothing but the site header comes before it.
    heading = browser.find_element(By.TAG_NAME, "h1")
    assert heading.rect["y"] > box["y"]
    screenshot(browser, "resolver-recall")

    browser.find_element(By.CSS_SELECTOR, "input[name=rating][value='2']").click()
    browser.find_element(By.ID, "comment").send_keys("加热时有焦糊味")
    browser.find_element(By.NAME, "complaint").click()
    browser.find_element(By.ID, "contact").send_keys("13800001111")
    screenshot(browser, "resolver-feedback-form")
    browser.find_element(By.CSS_SELECTOR, ".feedback-form button[type=submit]").click()
    wait_for(browser, lambda d: "感谢您的评价" in d.find_element(By.TAG_NAME, "h1").text)
    assert "投诉" in browser.page_source
    screenshot(browser, "resolver-feedback-thanks")

    async with AsyncClient(base_url=live_server, headers=regulator) as api:
        stored = (await api.get("/v1/feedback?complaint=true")).json()["items"]
    assert [(f["rating"], f["comment"], f["contact"]) for f in stored] == [
        (2, "加热时有焦糊味", "13800001111")
    ]

    # Back on the page, the aggregate counts it.
    browser.find_element(By.LINK_TEXT, "返回产品信息").click()
    wait_for(browser, lambda d: "共 1 条评价" in d.page_source)
