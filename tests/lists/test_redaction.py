"""A past publication after its violations' periods end (SPEC §4.1): immutable,
served with redacted lines, `redacted` and `line_hashes`.

A publication leaves out, on the day it is made, violations already past their
period (issue #13: nothing is republished after its period); what it published
is redacted only at read time, once a period ends after the publication."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.lists.conftest import TODAY
from tests.lists.helpers import black_listed

# Decided 2023-06-15: public through 2026-06-14 (3 years), no longer on TODAY (2026-06-15).
LAST_PUBLIC_DAY = TODAY - dt.timedelta(days=1)


async def _published_on_the_last_public_day(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], **names: str
) -> tuple[str, str, dict[str, Any], str]:
    """On the old violation's last public day: two black-listed organizations and a
    publication as of 2023-06-20. (old, recent, the publication, its JSON Lines copy)."""
    with clock.frozen(LAST_PUBLIC_DAY):
        old, _ = await black_listed(
            client, session, regulator, decided_on="2023-06-15", **_name(names, "old")
        )
        recent, _ = await black_listed(
            client, session, regulator, decided_on="2023-06-16", **_name(names, "recent")
        )
        made = await client.post(
            "/v1/lists/black/publications", json={"as_of": "2023-06-20"}, headers=regulator
        )
        assert made.status_code == 201, made.text
        number = made.json()["number"]
        copy = (await client.get(f"/v1/lists/black/publications/{number}?format=jsonl")).text
    return old, recent, made.json(), copy


def _name(names: dict[str, str], which: str) -> dict[str, str]:
    return {"name": names[which]} if which in names else {}


async def test_an_ended_period_is_redacted_and_every_other_line_verifiable(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    old, recent, made, copy = await _published_on_the_last_public_day(client, session, regulator)
    number = made["number"]
    with clock.frozen(LAST_PUBLIC_DAY):
        # The day it was made, both lines were public: nothing redacted, and the
        # JSON Lines download is the copy `sha256` verifies.
        before = (await client.get(f"/v1/lists/black/publications/{number}?limit=200")).json()
        assert "redacted" not in before and "line_hashes" not in before
        assert {e["uscc"] for e in before["entries"]["items"]} == {old, recent}
    assert hashlib.sha256(copy.encode()).hexdigest() == made["sha256"]

    # The day after the old violation's period ends: the same publication, redacted.
    body = (await client.get(f"/v1/lists/black/publications/{number}?limit=200")).json()
    assert body["redacted"] is True
    items = body["entries"]["items"]
    hidden = [e for e in items if e.get("redacted")]
    shown = [e for e in items if not e.get("redacted")]
    assert len(hidden) == 1 and old not in orjson.dumps(hidden).decode()
    assert set(hidden[0]) == {"redacted", "line_sha256"}
    assert [e["uscc"] for e in shown] == [recent]
    hashes = body["line_hashes"]
    assert len(hashes) == len(items) == 2
    first_published = copy.splitlines()
    for entry, expected, original in zip(items, hashes, first_published, strict=True):
        assert hashlib.sha256(original.encode()).hexdigest() == expected
        if entry.get("redacted"):
            assert entry["line_sha256"] == expected
        else:
            line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode()
            assert hashlib.sha256(line.encode()).hexdigest() == expected
    assert body["sha256"] == made["sha256"]  # the publication itself never changed
    jsonl = (await client.get(f"/v1/lists/black/publications/{number}?format=jsonl")).text
    assert old not in jsonl
    for served, entry, original in zip(jsonl.splitlines(), items, first_published, strict=True):
        if entry.get("redacted"):
            assert orjson.loads(served) == entry
        else:
            assert served == original  # every remaining line byte-identical
    csv = (await client.get(f"/v1/lists/black/publications/{number}?format=csv")).text
    assert old not in csv and recent in csv


async def test_a_violation_past_its_period_on_the_publication_day_is_left_out(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    """Issue #13: a past `as_of` does not republish what may no longer be said."""
    old, _ = await black_listed(client, session, regulator, decided_on="2023-06-15")
    recent, _ = await black_listed(client, session, regulator, decided_on="2023-06-16")
    made = await client.post(
        "/v1/lists/black/publications", json={"as_of": "2023-06-20"}, headers=regulator
    )
    assert made.status_code == 201, made.text
    body = (await client.get(f"/v1/lists/black/publications/{made.json()['number']}")).json()
    assert "redacted" not in body
    assert [e["uscc"] for e in body["entries"]["items"]] == [recent]
    assert old not in orjson.dumps(body).decode()


async def test_the_pages_redact_as_the_api_does(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    """The HTML list page, its search, the home page and the organization page."""
    old, recent, made, copy = await _published_on_the_last_public_day(
        client, session, regulator, old="旧案甲有限公司", recent="近案乙有限公司"
    )
    number = made["number"]
    with clock.frozen(LAST_PUBLIC_DAY):
        page = (await client.get(f"/lists/black/{number}")).text
        assert old in page and "旧案甲" in page and "不再公示" not in page
    old_line = next(line for line in copy.splitlines() if old in line)

    for url in (f"/lists/black/{number}", "/lists/black"):
        page = (await client.get(url)).text
        assert old not in page and "旧案甲" not in page, url
        assert recent in page and "近案乙" in page
        assert "公示期已满，本条不再公示" in page
        assert hashlib.sha256(old_line.encode()).hexdigest() in page
        assert "其中 1 个条目" in page and "line_hashes" in page
    for q in ("旧案甲", old, old[8:17]):  # name, code, embedded organization code
        found = (await client.get(f"/lists/black/{number}", params={"q": q})).text
        assert "没有找到匹配的企业" in found and 'class="entries"' not in found, q
        assert f"/organizations/{old}" not in found
    home = (await client.get("/")).text
    assert old not in home and recent in home
    own_page = (await client.get(f"/organizations/{old}")).text
    assert f"/lists/black/{number}?q={old}" not in own_page
    other_page = (await client.get(f"/organizations/{recent}")).text
    assert f"/lists/black/{number}?q={recent}" in other_page

    download = await client.get(f"/v1/lists/black/publications/{number}?format=csv")
    assert download.headers["X-Redacted-Count"] == "1"
    assert old not in download.text and recent in download.text
    listed = await client.get(f"/v1/lists/black/publications/{number}")
    max_age = int(listed.headers["Cache-Control"].rpartition("=")[2])
    assert 0 <= max_age <= 86400


async def test_the_diff_redacts_as_the_api_does(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    """A diff shows the lines of two publications: each redacted as its own is."""
    old, recent, made, copy = await _published_on_the_last_public_day(client, session, regulator)
    number = made["number"]
    with clock.frozen(LAST_PUBLIC_DAY):
        diff = (await client.get(f"/v1/lists/black/publications/{number}/diff")).json()
        assert {e["uscc"] for e in diff["added"]} == {old, recent}  # both public that day
    old_line = next(line for line in copy.splitlines() if old in line)
    expected = {"redacted": True, "line_sha256": hashlib.sha256(old_line.encode()).hexdigest()}

    diff = (await client.get(f"/v1/lists/black/publications/{number}/diff")).json()
    assert old not in orjson.dumps(diff).decode()
    assert expected in diff["added"]
    assert [e["uscc"] for e in diff["added"] if "uscc" in e] == [recent]
    # The next publication (today) no longer lists the old case: its removal is
    # shown redacted too, as the previous publication's line.
    later = await client.post("/v1/lists/black/publications", json={}, headers=regulator)
    assert later.status_code == 201, later.text
    diff = (await client.get(f"/v1/lists/black/publications/{later.json()['number']}/diff")).json()
    assert old not in orjson.dumps(diff).decode()
    assert expected in diff["removed"]
