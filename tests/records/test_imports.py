"""CSV import: atomic and partial, UTF-8 (BOM or not) and GB18030, reports by file line."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.records.models import Violation
from tests.factories import make_organization
from tests.records.helpers import days_ago

SAMPLE = Path(__file__).resolve().parents[2] / "scripts" / "samples" / "violations.csv"
HEADER = (
    "uscc,case_no,authority,decided_on,category,severity,"
    "description,public_summary,penalty_amount,rectified_on"
)


def _csv(rows: list[str]) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


async def _post_rows(
    client: AsyncClient, regulator: dict[str, str], rows: list[str], query: str = ""
) -> Response:
    """Import `rows` (under the header) as a UTF-8 CSV body."""
    return await client.post(
        "/v1/imports/violations" + (f"?{query}" if query else ""),
        content=_csv(rows).encode(),
        headers=regulator | {"content-type": "text/csv"},
    )


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Violation)) or 0


@pytest.fixture
async def orgs(session: AsyncSession) -> list[str]:
    return [await make_organization(session) for _ in range(2)]


def _wrong_check(uscc: str) -> str:
    """A check character that is not `uscc`'s (a fixed "X" was right one time in 31)."""
    return "Y" if uscc[17] != "Y" else "W"


def _rows(orgs: list[str]) -> list[str]:
    a, b = orgs
    return [
        f"{a},杭罚〔2026〕1号,杭州市市场监督管理局,{days_ago(40)},产品质量,general,内部说明,销售不合格插座,5000,",
        f"{b},杭罚〔2026〕2号,杭州市市场监督管理局,{days_ago(30)},标签标识,minor,,标签不规范,,{days_ago(5)}",
        f"{a[:8]}-{a[8:17]}{_wrong_check(a)},杭罚〔2026〕3号,杭州市市场监督管理局,{days_ago(20)},产品质量,grave,,严重,1,",
        f"{b},杭罚〔2026〕4号,杭州市市场监督管理局,2026-02-30,产品质量,serious,,以次充好,1,",
        f"{a},杭罚〔2026〕1号,杭州市市场监督管理局,{days_ago(10)},产品质量,general,,重复,1,",
    ]


async def test_atomic_with_a_bad_row_imports_nothing(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession, orgs: list[str]
) -> None:
    data = _csv(_rows(orgs)).encode("gb18030")
    response = await client.post(
        "/v1/imports/violations?mode=atomic",
        files={"file": ("violations.csv", data, "text/csv")},
        headers=regulator,
    )
    assert response.status_code == 422
    report = response.json()["report"]
    assert report["imported"] == 0
    assert [r["line"] for r in report["rejected"]] == [4, 5, 6]
    reasons = {r["line"]: r["reasons"] for r in report["rejected"]}
    assert any(x["field"] == "uscc" for x in reasons[4])
    assert any(x["field"] == "severity" for x in reasons[4])
    assert any(x["field"] == "decided_on" for x in reasons[5])
    assert "duplicate of line 2" in reasons[6][0]["message"]
    assert await _count(session) == 0


async def test_partial_imports_the_good_rows_of_a_gb18030_file(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession, orgs: list[str]
) -> None:
    data = _csv(_rows(orgs)).encode("gb18030")
    response = await client.post(
        "/v1/imports/violations?mode=partial",
        content=data,
        headers=regulator | {"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] == 2
    assert [c["line"] for c in report["created"]] == [2, 3]
    assert [r["line"] for r in report["rejected"]] == [4, 5, 6]
    assert await _count(session) == 2
    listed = await client.get(f"/v1/organizations/{orgs[0]}/violations", headers=regulator)
    assert listed.json()["items"][0]["public_summary"] == "销售不合格插座"
    assert listed.json()["items"][0]["penalty_amount"] == "5000.00"

    # Importing the same file again reports the duplicates and doubles nothing.
    again = await client.post(
        "/v1/imports/violations?mode=partial",
        content=data,
        headers=regulator | {"content-type": "text/csv"},
    )
    assert again.json()["imported"] == 0
    assert any("already recorded" in r["reasons"][0]["message"] for r in again.json()["rejected"])
    assert await _count(session) == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
async def test_utf8_with_or_without_bom(
    client: AsyncClient,
    regulator: dict[str, str],
    session: AsyncSession,
    orgs: list[str],
    encoding: str,
) -> None:
    data = _csv(_rows(orgs)[:2]).encode(encoding)
    response = await client.post(
        "/v1/imports/violations?mode=atomic",
        files={"file": ("v.csv", data, "text/csv")},
        headers=regulator,
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2


async def test_the_sample_file_in_the_repository_imports(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    import csv
    import io

    text = SAMPLE.read_bytes().decode("gb18030")
    for row in csv.DictReader(io.StringIO(text)):
        await make_organization(session, uscc=row["uscc"]) if not await _exists(
            session, row["uscc"]
        ) else None
    response = await client.post(
        "/v1/imports/violations?mode=atomic",
        files={"file": ("violations.csv", SAMPLE.read_bytes(), "text/csv")},
        headers=regulator,
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == response.json()["rows"] > 0


async def _exists(session: AsyncSession, uscc: str) -> bool:
    from app.organizations.models import Organization

    return bool(await session.scalar(select(Organization.id).where(Organization.uscc == uscc)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "header row is required"),
        (b"uscc,case_no\r\n", "lacks the columns"),
        ((HEADER + ",extra\r\n").encode(), "unknown columns extra"),
        (b"\xff\xfe\x00\x00garbage\x81", "neither UTF-8 nor GB18030"),
    ],
)
async def test_unreadable_files_are_422(
    client: AsyncClient, regulator: dict[str, str], content: bytes, message: str
) -> None:
    response = await client.post(
        "/v1/imports/violations", content=content, headers=regulator | {"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


async def test_size_and_row_bounds(
    client: AsyncClient, regulator: dict[str, str], orgs: list[str]
) -> None:
    big = b"x" * (5 * 1024 * 1024 + 1)
    response = await client.post(
        "/v1/imports/violations", content=big, headers=regulator | {"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert "5242880 bytes" in response.json()["detail"]
    rows = [f"{orgs[0]},C{n},局,{days_ago(3)},x,minor,,s,," for n in range(5001)]
    many = await _post_rows(client, regulator, rows)
    assert many.status_code == 422
    assert "more than 5000 rows" in many.json()["detail"]


async def test_wrong_content_type_and_roles(
    client: AsyncClient, regulator: dict[str, str], partner: dict[str, str]
) -> None:
    wrong = await client.post("/v1/imports/violations", json={"a": 1}, headers=regulator)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "file"
    assert (
        await client.post(
            "/v1/imports/violations", content=b"x", headers=partner | {"content-type": "text/csv"}
        )
    ).status_code == 403
    assert (
        await client.post(
            "/v1/imports/violations?mode=all",
            content=b"x",
            headers=regulator | {"content-type": "text/csv"},
        )
    ).status_code == 422


async def test_import_refreshes_credit_once_per_organization(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession, orgs: list[str]
) -> None:
    rows = [
        f"{orgs[0]},批量{n},局,{days_ago(3)},x,{'serious' if n == 0 else 'minor'},,s,,"
        for n in range(60)
    ]
    response = await _post_rows(client, regulator, rows)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 60
    credit = (await client.get(f"/v1/organizations/{orgs[0]}/credit")).json()
    assert credit["black_list"] is True  # the imported serious violation counts
    assert credit["grade"] == "D"


async def test_rejected_rows_are_named_by_the_line_they_start_on(
    client: AsyncClient, regulator: dict[str, str], orgs: list[str]
) -> None:
    rows = [
        f'{orgs[0]},多行1,局,{days_ago(3)},x,minor,"第一行\n第二行\n第三行",s,,',
        f"{orgs[0]},多行2,局,{days_ago(3)},x,grave,,s,,",
    ]
    response = await _post_rows(client, regulator, rows, "mode=partial")
    assert response.status_code == 200, response.text
    report = response.json()
    assert [c["line"] for c in report["created"]] == [2]
    assert [r["line"] for r in report["rejected"]] == [5]  # rows 2-4 hold the quoted text


async def test_a_row_may_name_its_organization_by_the_nine_character_code(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession, orgs: list[str]
) -> None:
    a, b = orgs
    rows = [
        f"{a[8:16]}-{a[16]},杭罚〔2026〕11号,杭州市市场监督管理局,{days_ago(9)},产品质量,minor,,旧码,,",
        f"{b},杭罚〔2026〕12号,杭州市市场监督管理局,{days_ago(8)},产品质量,minor,,新码,,",
    ]
    response = await _post_rows(client, regulator, rows, "mode=atomic")
    assert response.status_code == 200, response.text
    assert [c["uscc"] for c in response.json()["created"]] == [a, b]
    assert await _count(session) == 2
