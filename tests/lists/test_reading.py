"""Reading publications back: the hash recomputed from every download format,
CSV and diff against the JSON, immutability in time, listing, latest, the feed."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from typing import Any
from xml.etree import ElementTree as ET

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.lists import canonical, downloads
from tests.factories import make_organization
from tests.lists.conftest import TODAY
from tests.lists.helpers import (
    all_entries,
    black_listed,
    csv_download,
    entries_from_csv,
    post,
    publish,
    red_listed,
)
from tests.records.helpers import grade, violation


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


async def _black_orgs(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], n: int
) -> list[str]:
    made = []
    for i in range(n):
        uscc, _ = await black_listed(
            client,
            session,
            regulator,
            decided_on=ago(10 + i),
            name=f'测试"引号",逗号\\反斜杠{i}有限公司',
        )
        made.append(uscc)
    return made


async def test_sha256_recomputed_from_json_pages_csv_and_json_lines(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    usccs = await _black_orgs(client, session, regulator, 5)
    # One organization with two reasons (two serious violations).
    await post(
        client, regulator, usccs[0], "violations", violation(severity="serious", decided_on=ago(3))
    )
    published = await publish(client, regulator, "black")
    number, sha = published["number"], published["sha256"]

    pages = await all_entries(client, "black", number, limit=2)
    assert [e["uscc"] for e in pages] == sorted(usccs)
    assert len(pages[[e["uscc"] for e in pages].index(usccs[0])]["reasons"]) == 2
    assert canonical.digest_entries(pages) == sha

    data = await csv_download(client, "black", number)
    from_csv = entries_from_csv("black", data)
    assert from_csv == pages
    assert canonical.digest_entries(from_csv) == sha

    lines = await client.get(f"/v1/lists/black/publications/{number}", params={"format": "jsonl"})
    assert lines.status_code == 200
    assert hashlib.sha256(lines.content).hexdigest() == sha
    assert lines.headers["x-publication-sha256"] == sha


async def test_red_csv_matches_json_and_opens_as_utf8(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    for _ in range(3):
        await red_listed(client, session, regulator, assessed_on=ago(10), valid_until=None)
    number = (await publish(client, regulator, "red"))["number"]
    data = await csv_download(client, "red", number)
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header == "uscc,name,grade,region_code"
    assert entries_from_csv("red", data) == await all_entries(client, "red", number)
    # `?format=csv` is the same download, for links on the pages.
    by_query = await client.get(f"/v1/lists/red/publications/{number}", params={"format": "csv"})
    assert by_query.content == data
    assert 'filename="red-list-1.csv"' in by_query.headers["content-disposition"]


async def test_black_csv_has_one_row_per_reason(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, _ = await black_listed(client, session, regulator, decided_on=ago(40))
    await post(
        client, regulator, uscc, "violations", violation(severity="serious", decided_on=ago(4))
    )
    data = await csv_download(
        client, "black", (await publish(client, regulator, "black"))["number"]
    )
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [
        "uscc",
        "name",
        "listed_since",
        "expected_exit",
        "case_no",
        "authority",
        "decided_on",
        "public_summary",
    ]
    assert [r[0] for r in rows[1:]] == [uscc, uscc]
    assert [r[6] for r in rows[1:]] == [ago(40), ago(4)]


async def _diff(client: AsyncClient, kind: str, number: int) -> dict[str, Any]:
    response = await client.get(f"/v1/lists/{kind}/publications/{number}/diff")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _expected_diff(
    kind: str, before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> dict[str, Any]:
    old, new = {e["uscc"]: e for e in before}, {e["uscc"]: e for e in after}
    fields = canonical.CHANGE_FIELDS[kind]
    return {
        "added": [new[u] for u in sorted(set(new) - set(old))],
        "removed": [old[u] for u in sorted(set(old) - set(new))],
        "changed": [
            {"uscc": u, "before": old[u], "after": new[u]}
            for u in sorted(set(old) & set(new))
            if any(old[u][f] != new[u][f] for f in fields)
        ],
    }


async def test_red_diff_matches_the_json(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    leaving = await red_listed(client, session, regulator, assessed_on=ago(60), valid_until=None)
    regraded = await red_listed(client, session, regulator, assessed_on=ago(60), valid_until=None)
    same = await red_listed(client, session, regulator, assessed_on=ago(60), valid_until=None)
    first = await publish(client, regulator, "red")
    await post(client, regulator, leaving, "violations", violation(decided_on=ago(5)))
    await post(client, regulator, regraded, "grades", grade(grade="A", assessed_on=ago(2)))
    joining = await red_listed(client, session, regulator, assessed_on=ago(1), valid_until=None)
    # A new name alone is not a change of a red entry (only its grade is).
    await client.put(f"/v1/organizations/{same}", json={"name": "改名后的公司"}, headers=regulator)
    second = await publish(client, regulator, "red")

    diff = await _diff(client, "red", second["number"])
    assert (diff["kind"], diff["number"], diff["previous"]) == ("red", 2, 1)
    assert [e["uscc"] for e in diff["added"]] == [joining]
    assert [e["uscc"] for e in diff["removed"]] == [leaving]
    assert [(c["uscc"], c["before"]["grade"], c["after"]["grade"]) for c in diff["changed"]] == [
        (regraded, "AAA", "A")
    ]
    before = await all_entries(client, "red", first["number"])
    after = await all_entries(client, "red", second["number"])
    assert {k: diff[k] for k in ("added", "removed", "changed")} == _expected_diff(
        "red", before, after
    )

    initial = await _diff(client, "red", 1)
    assert initial["previous"] is None
    assert (initial["added"], initial["removed"], initial["changed"]) == (before, [], [])


async def test_black_diff_reports_changed_reasons(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    again, _ = await black_listed(client, session, regulator, decided_on=ago(50))
    await black_listed(client, session, regulator, decided_on=ago(40))
    await publish(client, regulator, "black")
    await post(
        client, regulator, again, "violations", violation(severity="serious", decided_on=ago(3))
    )
    await publish(client, regulator, "black")
    diff = await _diff(client, "black", 2)
    assert (diff["added"], diff["removed"]) == ([], [])
    [changed] = diff["changed"]
    assert changed["uscc"] == again
    assert (len(changed["before"]["reasons"]), len(changed["after"]["reasons"])) == (1, 2)
    expected = _expected_diff(
        "black", await all_entries(client, "black", 1), await all_entries(client, "black", 2)
    )
    assert {k: diff[k] for k in ("added", "removed", "changed")} == expected


async def test_a_publication_never_changes_after_later_record_changes(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, created = await black_listed(client, session, regulator, decided_on=ago(20))
    await black_listed(client, session, regulator, decided_on=ago(30))
    first = await publish(client, regulator, "black")

    async def snapshot() -> tuple[Any, ...]:
        one = (await client.get("/v1/lists/black/publications/1")).json()
        return (one, await all_entries(client, "black", 1), await csv_download(client, "black", 1))

    before = await snapshot()
    # Correct the summary, revoke the violation, rename the organization.
    response = await client.patch(
        f"/v1/violations/{created['id']}",
        json={"public_summary": "更正后的摘要", "revoked_on": ago(1), "revoked_reason": "复议撤销"},
        headers=regulator | {"If-Match": '"v1"'},
    )
    assert response.status_code == 200, response.text
    await client.put(f"/v1/organizations/{uscc}", json={"name": "新名字"}, headers=regulator)
    second = await publish(client, regulator, "black")
    assert second["entry_count"] == first["entry_count"] - 1
    assert await snapshot() == before
    assert before[0]["sha256"] == first["sha256"]


async def test_list_latest_and_errors(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    missing = await client.get("/v1/lists/red/latest")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for _ in range(3):
        await publish(client, regulator, "red")
    page = (await client.get("/v1/lists/red/publications", params={"limit": 2})).json()
    assert [p["number"] for p in page["items"]] == [3, 2]
    assert "entries" not in page["items"][0]
    rest = (
        await client.get("/v1/lists/red/publications", params={"cursor": page["next_cursor"]})
    ).json()
    assert ([p["number"] for p in rest["items"]], rest["next_cursor"]) == ([1], None)

    latest = await client.get("/v1/lists/red/latest")
    assert latest.status_code == 200
    assert latest.json()["number"] == 3
    assert latest.headers["content-location"] == "/v1/lists/red/publications/3"
    assert (await client.get("/v1/lists/black/publications")).json()["items"] == []

    for path, status in [
        ("/v1/lists/red/publications/4", 404),
        ("/v1/lists/red/publications/0", 422),
        ("/v1/lists/red/publications/99999999999", 422),
        ("/v1/lists/red/publications/abc", 422),
        ("/v1/lists/green/publications", 422),
        ("/v1/lists/red/publications/1?limit=201", 422),
        ("/v1/lists/red/publications/1?cursor=bm90LWEtY3Vyc29y", 422),
        ("/v1/lists/red/publications/1?cursor=WyJ4Il0", 422),
        ("/v1/lists/red/publications?cursor=%%%", 422),
        ("/v1/lists/red/publications?cursor=Wzk5OTk5OTk5OTk5OTk5XQ", 422),  # [99999999999999]
        ("/v1/lists/red/publications/1?cursor=Wy0xXQ", 422),  # [-1]
        ("/v1/lists/red/publications/1?format=xml", 422),
        ("/v1/lists/red/publications/9/diff", 404),
    ]:
        response = await client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_atom_feed(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    empty = await client.get("/v1/lists/black/feed.atom")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("application/atom+xml")
    await black_listed(client, session, regulator, decided_on=ago(10))
    await publish(client, regulator, "black", note="含<特殊>字符 & \x01")
    second = await publish(client, regulator, "black")
    response = await client.get("/v1/lists/black/feed.atom")
    root = ET.fromstring(response.content)  # noqa: S314 (our own feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [
        f"黑榜第 2 期（截至 {TODAY.isoformat()}）",
        f"黑榜第 1 期（截至 {TODAY.isoformat()}）",
    ]
    assert (entries[0].findtext("a:id", namespaces=ns) or "").endswith(
        "/v1/lists/black/publications/2"
    )
    assert second["sha256"] in (entries[0].findtext("a:summary", namespaces=ns) or "")
    assert "含<特殊>字符 &" in (entries[1].findtext("a:summary", namespaces=ns) or "")
    assert root.findtext("a:updated", namespaces=ns)


async def test_anyone_reads_and_a_bad_key_is_401(
    client: AsyncClient, regulator: dict[str, str]
) -> None:
    await publish(client, regulator, "red")
    assert (await client.get("/v1/lists/red/publications/1")).status_code == 200
    bad = await client.get(
        "/v1/lists/red/publications/1", headers={"Authorization": "Bearer qcr_nope"}
    )
    assert bad.status_code == 401


async def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    """SPEC §8: `= + - @`, tab and CR first are formula triggers in Excel and WPS; the
    CSV prefixes them (and a leading apostrophe) with `'`, JSON Lines stays verbatim."""
    uscc = await make_organization(session, name='=HYPERLINK("http://evil.example","点我")')
    summary = "@SUM(1+1)*cmd|' /C calc'!A0"
    await post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="serious", decided_on=ago(5), public_summary=summary),
    )
    for case_no in ("-2+3", "+86", "'quoted"):
        await post(
            client,
            regulator,
            uscc,
            "violations",
            violation(severity="serious", decided_on=ago(6), case_no=case_no),
        )
    published = await publish(client, regulator, "black")
    data = await csv_download(client, "black", published["number"])
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    cells = [value for row in rows for value in row.values()]
    assert all(not value or value[0] not in "=+-@\t\r" for value in cells), cells
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil.example","点我")'
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    assert {"'-2+3", "'+86", "''quoted"} <= set(cells)
    # Still verifiable: undoing the one documented prefix gives the published entries.
    from_csv = entries_from_csv("black", data)
    assert canonical.digest_entries(from_csv) == published["sha256"]
    lines = await client.get(
        f"/v1/lists/black/publications/{published['number']}", params={"format": "jsonl"}
    )
    assert hashlib.sha256(lines.content).hexdigest() == published["sha256"]
    assert b'"name":"=HYPERLINK' in lines.content


def test_csv_cell_prefix_is_undone_exactly() -> None:
    for value in ("\t=1", "\r=1", "=1", "+1", "-1", "@a", "'a", "''", "a=1", "", "甲"):
        cell = downloads.csv_cell(value)
        assert not cell or cell[0] not in "=+-@\t\r"
        assert downloads.csv_value(cell) == value
