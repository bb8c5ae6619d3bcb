"""The browser harness itself works: a page served live, seen by Chromium."""

from __future__ import annotations

from typing import Any

from tests.browser import screenshot


def test_chromium_renders_a_served_page(live_server: str, browser: Any) -> None:
    browser.get(live_server + "/healthz")
    assert '"status":"ok"' in browser.page_source.replace(" ", "")
    assert screenshot(browser, "smoke").stat().st_size > 0
