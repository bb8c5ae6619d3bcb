"""Page tests in a real headless Chromium (Debian's chromium and chromedriver).

`live_server` serves the app on 127.0.0.1 against the test database with real
commits (emptied afterwards); `browser` is a Selenium driver with a phone-sized
window. Screenshots go to `test-artifacts/`. Without chromium on the machine
the browser tests fail loudly (`.ci/run` installs it)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.core.database import make_engine
from app.core.settings import Settings
from tests.conftest import ROOT, DatabaseUnderTest
from tests.live import live_app

ARTIFACTS = ROOT / "test-artifacts"
PHONE = (390, 844)


@pytest.fixture
def live_server(test_database: DatabaseUnderTest, test_settings: Settings) -> Iterator[str]:
    """The app on a real socket; everything it commits is removed afterwards."""
    engine = make_engine(test_database.service_url, test_settings, pool_size=2)
    with live_app(engine, test_settings) as url:
        yield url
    asyncio.run(_empty(test_database.owner_url))


async def _empty(owner_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(owner_url)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = (
            await conn.scalars(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ).all()
        await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    await engine.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.fail(
            "chromium and chromedriver are required (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={PHONE[0]},{PHONE[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(*PHONE)
    driver.implicitly_wait(5)  # find_element retries while a page is still loading
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, condition: Callable[[Any], bool], timeout: float = 10) -> None:
    """Wait until `condition(driver)` holds: a click that submits a form or follows
    a link returns before the browser has loaded the next page. An element read
    while the old page unloads is stale: that is "not yet", like a missing one.
    Chromium sometimes reports the same as an inspector error ("Node with given
    id does not belong to the document") rather than a stale element."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def holds(d: Any) -> bool:
        try:
            return condition(d)
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return False
            raise

    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        holds
    )


def screenshot(driver: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path
