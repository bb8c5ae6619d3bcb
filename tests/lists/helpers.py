"""Building listed organizations through the API, publishing, and downloading
publications the way a client would (every JSON page; the CSV; JSON Lines)."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.lists import downloads
from tests.factories import make_organization
from tests.records.helpers import grade, violation


async def post(
    client: AsyncClient, headers: dict[str, str], uscc: str, plural: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/v1/organizations/{uscc}/{plural}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def black_listed(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    *,
    decided_on: str,
    **org: Any,
) -> tuple[str, dict[str, Any]]:
    """An organization with one serious violation (rule S1); the violation."""
    uscc = await make_organization(session, **org)
    created = await post(
        client, regulator, uscc, "violations", violation(severity="serious", decided_on=decided_on)
    )
    return uscc, created


async def red_listed(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], **body: Any
) -> str:
    """An active organization assessed AAA (A-level)."""
    uscc = await make_organization(session)
    await post(client, regulator, uscc, "grades", grade(grade="AAA") | body)
    return uscc


async def publish(
    client: AsyncClient, headers: dict[str, str], kind: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"/v1/lists/{kind}/publications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def all_entries(
    client: AsyncClient, kind: str, number: int, limit: int = 2
) -> list[dict[str, Any]]:
    """Every entry, following `next_cursor` page by page."""
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(f"/v1/lists/{kind}/publications/{number}", params=params)
        assert response.status_code == 200, response.text
        page = response.json()["entries"]
        entries += page["items"]
        if page["next_cursor"] is None:
            return entries
        params["cursor"] = page["next_cursor"]


async def csv_download(client: AsyncClient, kind: str, number: int) -> bytes:
    response = await client.get(
        f"/v1/lists/{kind}/publications/{number}", headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return response.content


def entries_from_csv(kind: str, data: bytes) -> list[dict[str, Any]]:
    """Rebuild the JSON entries from the CSV (black: one row per reason)."""
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    if kind == "red":
        return [dict(r) for r in rows]

    def date(value: str) -> str | None:
        return value or None

    entries: list[dict[str, Any]] = []
    for row in rows:
        if not entries or entries[-1]["uscc"] != row["uscc"]:
            entries.append(
                {
                    "uscc": row["uscc"],
                    "name": row["name"],
                    "listed_since": date(row["listed_since"]),
                    "expected_exit": date(row["expected_exit"]),
                    "reasons": [],
                }
            )
        if row["case_no"]:
            entries[-1]["reasons"].append({c: row[c] for c in downloads.BLACK_COLUMNS[4:]})
    return entries
