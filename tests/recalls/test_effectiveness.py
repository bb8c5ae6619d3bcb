"""Recall effectiveness: progress per level and channel, correction rates, the
overdue flag at its boundary, recalled items still scanned after the recall,
and "I returned it" confirmations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.codes.helpers import item_codes
from tests.factories import make_key, make_organization
from tests.records.helpers import days_ago, recall

JSON = {"Accept": "application/json"}
PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"}


def progress(**overrides: Any) -> dict[str, Any]:
    return {
        "levels": [
            {"level": "distributor", "distributed": 1000, "corrected": 900},
            {"level": "consumer", "distributed": 200, "corrected": 50},
        ],
        "notifications": {"sms": 180, "letter": 20},
    } | overrides


async def recalled_items(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> tuple[str, list[str], dict[str, Any]]:
    """A product with three item codes in lot L1, and an ongoing recall of that lot."""
    uscc = await make_organization(session)
    gtin, paths = await item_codes(client, regulator, uscc, count=3, lot="L1")
    created = await client.post(
        f"/v1/organizations/{uscc}/recalls",
        json=recall(gtin=gtin, lots=["L1"], initiated_on=days_ago(10)),
        headers=regulator,
    )
    assert created.status_code == 201, created.text
    return uscc, paths, created.json()


def serial_of(path: str) -> dict[str, str]:
    parts = path.strip("/").split("/")  # 01 gtin 10 lot 21 serial
    return {"gtin": parts[1], "lot": parts[3], "serial": parts[5]}


async def test_rates_and_serial_evidence(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    _, paths, created = await recalled_items(client, session, regulator)
    for path in (paths[0], paths[0], paths[1]):  # two items still in use, one twice
        assert (await client.get(path, headers=JSON | PHONE)).status_code == 200
    base = f"/v1/recalls/{created['id']}"
    posted = await client.post(f"{base}/progress", json=progress(), headers=regulator)
    assert posted.status_code == 201, posted.text
    returned = await client.post(f"{base}/returns", json=serial_of(paths[2]))
    assert returned.status_code == 204
    again = await client.post(f"{base}/returns", json=serial_of(paths[2]))
    assert again.status_code == 204  # a repeat counts once
    got = await client.get(f"{base}/effectiveness", headers=regulator)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["distributed"] == 1200 and body["corrected"] == 950
    assert body["correction_rate"] == round(950 / 1200, 4)
    assert [lv["correction_rate"] for lv in body["levels"]] == [0.9, 0.25]
    assert body["notifications"] == {"sms": 180, "letter": 20}
    assert body["evidence"] == {
        "item_codes": 3,
        "items_scanned_after_recall": 2,
        "scans_after_recall": 3,
        "returned_confirmations": 1,
    }


async def test_overdue_after_the_planned_day(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    _, _, created = await recalled_items(client, session, regulator)
    base = f"/v1/recalls/{created['id']}"
    planned = clock.today() - dt.timedelta(days=1)
    body = progress(planned_completion_on=planned.isoformat())
    assert (await client.post(f"{base}/progress", json=body, headers=regulator)).status_code == 201
    with clock.frozen(planned):
        on_the_day = await client.get(f"{base}/effectiveness", headers=regulator)
    assert on_the_day.json()["overdue"] is False
    late = await client.get(f"{base}/effectiveness", headers=regulator)
    assert late.json()["overdue"] is True


async def test_bad_input_and_who_may_see(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, paths, created = await recalled_items(client, session, regulator)
    base = f"/v1/recalls/{created['id']}"
    too_many = progress(levels=[{"level": "x", "distributed": 1, "corrected": 2}])
    response = await client.post(f"{base}/progress", json=too_many, headers=regulator)
    assert response.status_code == 422
    future = progress(reported_on=(clock.today() + dt.timedelta(days=1)).isoformat())
    response = await client.post(f"{base}/progress", json=future, headers=regulator)
    assert response.json()["errors"][0]["field"] == "reported_on"
    twice = progress(levels=[{"level": "x", "distributed": 1, "corrected": 0}] * 2)
    assert (await client.post(f"{base}/progress", json=twice, headers=regulator)).status_code == 422
    forged = serial_of(paths[0]) | {"serial": "A" * 20}
    assert (await client.post(f"{base}/returns", json=forged)).status_code == 422
    owner = await make_key(session, "enterprise", uscc)
    other = await make_key(session, "enterprise", await make_organization(session))
    assert (await client.get(f"{base}/effectiveness", headers=owner)).status_code == 200
    assert (await client.get(f"{base}/effectiveness", headers=other)).status_code == 404
    assert (await client.get(f"{base}/effectiveness")).status_code == 401
    partner = await make_key(session, "partner")
    assert (await client.get(f"{base}/effectiveness", headers=partner)).status_code == 403


def returned_form(page: str) -> dict[str, str]:
    """The resolver page's "我已退回" form: its action must be the plain POST route."""
    pattern = r'<form class="returned-form" method="post" action="([^"]+)">(.*?)</form>'
    form = re.search(pattern, page, re.S)
    assert form is not None, "no 我已退回 form on the page"
    assert form.group(1) == "/recalls/returned"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))


async def test_i_returned_it_from_the_resolver_page_without_javascript(
    app: FastAPI, client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, paths, created = await recalled_items(client, session, regulator)
    page = await client.get(paths[0], headers=PHONE)
    assert page.status_code == 200 and "我已退回此产品" in page.text
    fields = returned_form(page.text)
    assert fields == serial_of(paths[0])
    # The batch page names no single item: no button there.
    batch_page = await client.get(paths[0].rsplit("/21/", 1)[0], headers=PHONE)
    assert "returned-form" not in batch_page.text and "召回警告" in batch_page.text
    posted = await client.post("/recalls/returned", data=fields)
    assert posted.status_code == 201 and "感谢您配合召回" in posted.text
    assert posted.headers["content-type"].startswith("text/html")
    again = await client.post("/recalls/returned", data=fields)
    assert again.status_code == 201  # a repeat counts once
    got = await client.get(f"/v1/recalls/{created['id']}/effectiveness", headers=regulator)
    assert got.json()["evidence"]["returned_confirmations"] == 1
    # An item no ongoing recall covers, and a forged serial: a page naming the serial.
    _, other = await item_codes(client, regulator, uscc, count=1, lot="L2")
    not_recalled = await client.post("/recalls/returned", data=serial_of(other[0]))
    assert not_recalled.status_code == 422 and "序列号" in not_recalled.text
    assert "未能记录退回" in not_recalled.text
    forged = await client.post("/recalls/returned", data=serial_of(paths[1]) | {"serial": "A" * 20})
    assert forged.status_code == 422 and "序列号" in forged.text
    missing = await client.post("/recalls/returned", data={"gtin": fields["gtin"]})
    assert missing.status_code == 422 and "批号" in missing.text
    got = await client.get(f"/v1/recalls/{created['id']}/effectiveness", headers=regulator)
    assert got.json()["evidence"]["returned_confirmations"] == 1
    # Rate limited like feedback.
    app.state.settings = app.state.settings.model_copy(update={"rate_limit_feedback": "1/minute"})
    assert (await client.post("/recalls/returned", data=serial_of(paths[1]))).status_code == 201
    limited = await client.post("/recalls/returned", data=serial_of(paths[2]))
    assert limited.status_code == 429
    got = await client.get(f"/v1/recalls/{created['id']}/effectiveness", headers=regulator)
    assert got.json()["evidence"]["returned_confirmations"] == 2
