"""The interactive documentation works offline: /docs and /redoc load Swagger UI
and ReDoc from this service's own origin, under a CSP that admits no other, and
Chromium renders the operations (the machine has no network, and the pages must
not need one)."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By

from tests.browser import screenshot, wait_for


def test_docs_pages_name_only_this_origin(live_server: str) -> None:
    for path in ("/docs", "/redoc"):
        page = httpx.get(live_server + path)
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "default-src 'self';" in csp
        assert "http" not in csp and "cdn" not in page.text
        for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/redoc.standalone.js"):
            assert httpx.head(live_server + asset).status_code == 200


def test_swagger_ui_renders_the_operations(live_server: str, browser: Any) -> None:
    browser.set_window_size(1280, 900)
    browser.get(live_server + "/docs")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 50, 60)
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/v1/credit/batch" in {p.replace("\u200b", "") for p in paths}
    assert any("/01/{gtin}/10/{lot}/21/{serial}" in p.replace("\u200b", "") for p in paths)
    assert screenshot(browser, "docs-swagger").stat().st_size > 0
    errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "Content Security Policy" in entry["message"]
    ]
    assert errors == []


def test_redoc_renders_the_operations(live_server: str, browser: Any) -> None:
    browser.set_window_size(1280, 900)
    browser.get(live_server + "/redoc")
    wait_for(browser, lambda d: "/v1/credit/batch" in d.page_source, 60)
    assert screenshot(browser, "docs-redoc").stat().st_size > 0
