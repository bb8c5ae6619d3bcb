"""A person on a phone: open the black list, search it, open an organization,
and see what the pages say (in headless Chromium, against a live server)."""

from __future__ import annotations

import codecs
import hashlib
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.browser import screenshot, wait_for
from tests.factories import committed_key, random_uscc
from tests.records.helpers import grade, violation


async def _seed(base: str, headers: dict[str, str]) -> dict[str, str]:
    """Three organizations (two black-listed, one red-listed), both lists published."""
    names = {
        "bad": "杭州市劣质电器有限公司",
        "worse": "宁波市假冒建材有限公司",
        "good": "苏州市守信食品股份有限公司",
    }
    usccs = {key: random_uscc("330106") for key in names}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        for key, name in names.items():
            body = {"name": name, "address": "浙江省杭州市1号", "legal_representative": "李四"}
            response = await http.put(f"/v1/organizations/{usccs[key]}", json=body)
            assert response.status_code == 201, response.text
        for key, decided in (("bad", "2026-05-20"), ("worse", "2025-11-02")):
            response = await http.post(
                f"/v1/organizations/{usccs[key]}/violations",
                json=violation(
                    severity="serious",
                    decided_on=decided,
                    case_no=f"杭市监罚〔2026〕{key}号",
                    public_summary="生产销售不合格电热水壶，没收违法所得并罚款",
                ),
            )
            assert response.status_code == 201, response.text
        response = await http.post(
            f"/v1/organizations/{usccs['good']}/grades",
            json=grade(grade="AAA", assessed_on="2026-06-01", valid_until=None),
        )
        assert response.status_code == 201, response.text
        for kind in ("black", "red"):
            response = await http.post(f"/v1/lists/{kind}/publications", json={})
            assert response.status_code == 201, response.text
    return usccs


def _rows(browser: Any) -> list[Any]:
    return list(browser.find_elements(By.CSS_SELECTOR, "table.entries tbody tr"))


async def test_a_person_browses_the_black_list(
    live_server: str, browser: Any, engine: AsyncEngine
) -> None:
    usccs = await _seed(live_server, await committed_key(engine, "regulator"))

    browser.get(live_server + "/lists/black")
    assert browser.find_element(By.TAG_NAME, "h1").text == "质量信用黑榜"
    assert "第 1 期" in browser.find_element(By.CSS_SELECTOR, "p.lead").text
    assert len(_rows(browser)) == 2
    page_text = browser.find_element(By.TAG_NAME, "main").text
    assert "杭州市劣质电器有限公司" in page_text and "宁波市假冒建材有限公司" in page_text
    assert "守信食品" not in page_text
    # The stylesheet loads under the CSP: the hash is set in a monospace face.
    digest = browser.find_element(By.CSS_SELECTOR, "code.hash")
    assert len(digest.text) == 64
    assert "monospace" in digest.value_of_css_property("font-family")
    screenshot(browser, "black-list")

    search = browser.find_element(By.ID, "q")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=q]")
    assert "搜索" in label.text
    search.send_keys("劣质")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    wait_for(browser, lambda d: "q=" in d.current_url)
    rows = _rows(browser)
    assert len(rows) == 1
    assert "杭州市劣质电器有限公司" in rows[0].text
    assert "杭市监罚〔2026〕bad号" in rows[0].text
    assert "2026-05-20" in rows[0].text
    screenshot(browser, "black-list-search")

    rows[0].find_element(By.LINK_TEXT, "杭州市劣质电器有限公司").click()
    wait_for(browser, lambda d: d.current_url.endswith(f"/organizations/{usccs['bad']}"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "杭州市劣质电器有限公司"
    alert = browser.find_element(By.CSS_SELECTOR, ".alert-black")
    assert "该企业目前在质量信用黑名单中" in alert.text
    assert "列入日期：2026-05-20" in alert.text
    badge = browser.find_element(By.CSS_SELECTOR, ".alert-black .badge-black")
    assert badge.text == "黑榜"
    assert badge.value_of_css_property("background-color") in (
        "rgba(32, 32, 32, 1)",
        "rgb(32, 32, 32)",
    )
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "D 级" in main
    assert "生产销售不合格电热水壶" in main
    assert "黑榜第 1 期" in main
    assert "李四" not in browser.page_source  # the legal representative
    assert "内部案情" not in browser.page_source  # the internal description
    screenshot(browser, "organization")

    # Downloads stream after the request's transaction has ended (a real server).
    async with httpx.AsyncClient(base_url=live_server) as http:
        published = (await http.get("/v1/lists/black/publications/1")).json()
        lines = await http.get("/v1/lists/black/publications/1", params={"format": "jsonl"})
        assert hashlib.sha256(lines.content).hexdigest() == published["sha256"]
        table = await http.get("/v1/lists/black/latest", headers={"Accept": "text/csv"})
        assert table.content.startswith(codecs.BOM_UTF8)
        assert len(table.content.decode("utf-8-sig").splitlines()) == 3
        diff = (await http.get("/v1/lists/black/publications/1/diff")).json()
        assert [e["uscc"] for e in diff["added"]] == sorted([usccs["bad"], usccs["worse"]])

    browser.get(live_server + "/lists/red")
    assert len(_rows(browser)) == 1
    browser.find_element(By.LINK_TEXT, "苏州市守信食品股份有限公司").click()
    assert browser.find_element(By.CSS_SELECTOR, ".badge-a").text == "守信 A 级"
    screenshot(browser, "organization-red")
