"""A regulator in headless Chromium (1280x800 and 390x844): sign in with a key,
see the open signals charted, open a signal and an overdue-complaint clock,
move a case with the page's own form, sign out. Screenshots in test-artifacts/."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import today
from app.core.database import Database, make_engine
from app.core.settings import Settings
from app.main import create_app
from app.signals import job
from tests.browser import _empty, screenshot, wait_for
from tests.complaints.helpers import complaint_body
from tests.conftest import DatabaseUnderTest
from tests.factories import committed_key, committed_organization
from tests.live import free_port

SIZES = [(1280, 800), (390, 844)]


@pytest.fixture
def https_server(test_database: DatabaseUnderTest, test_settings: Settings) -> Iterator[str]:
    """The app on a real socket, its public base https (so the __Host- cookie is
    Secure, as in production; Chromium accepts Secure cookies from 127.0.0.1)."""
    settings = test_settings.model_copy(update={"public_base_url": "https://127.0.0.1"})
    engine = make_engine(test_database.service_url, settings, pool_size=2)
    app = create_app(settings, database=Database(engine))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    asyncio.run(_empty(test_database.owner_url))


async def _seed(base: str, engine: AsyncEngine, settings: Settings) -> dict[str, str]:
    regulator = await committed_key(engine, "regulator")
    uscc = await committed_organization(engine, region_code="330106")
    async with httpx.AsyncClient(base_url=base, headers=regulator) as http:
        for _ in range(7):
            response = await http.post("/v1/complaints", json=complaint_body(uscc=uscc))
            assert response.status_code == 201, response.text
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await job.run_day(session, today(), settings)
        await session.commit()
    return regulator


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
async def test_a_regulator_works_the_console(
    https_server: str,
    browser: Any,
    engine: AsyncEngine,
    test_settings: Settings,
    size: tuple[int, int],
) -> None:
    regulator = await _seed(https_server, engine, test_settings)
    browser.set_window_size(*size)
    name = f"console-{size[0]}x{size[1]}"
    browser.get(https_server + "/console")
    assert browser.find_element(By.TAG_NAME, "h1").text == "监管工作台"
    browser.find_element(By.ID, "key").send_keys(regulator["Authorization"].split(" ", 1)[1])
    browser.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button").click()
    wait_for(browser, lambda d: len(d.find_elements(By.ID, "section-signals")) == 1)
    cookie = browser.get_cookie("__Host-qcr_console")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["secure"]
    charts = browser.find_elements(By.CSS_SELECTOR, "#section-signals svg.chart")
    assert charts and charts[0].find_elements(By.CSS_SELECTOR, "circle.alarm")
    assert charts[0].size["width"] <= size[0]
    screenshot(browser, f"{name}-home")

    browser.find_element(By.CSS_SELECTOR, "#section-signals li.signal a").click()
    wait_for(browser, lambda d: "/console/signals/" in d.current_url)
    assert "投诉举报" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "explanation-en").text
    screenshot(browser, f"{name}-signal")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/transitions'] button").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "status").text == "triaged")

    browser.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] button").click()
    wait_for(browser, lambda d: len(d.find_elements(By.ID, "key")) == 1)
    screenshot(browser, f"{name}-signed-out")
