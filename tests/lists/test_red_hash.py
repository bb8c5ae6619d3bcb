"""The red list's hash, recomputed by a client from each of its downloads with
nothing but the README's recipe (not the service's own canonical module):
`json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\\n"`
per entry, UTF-8, in uscc order. Names carry quotes, backslashes, an emoji and a
line separator; one organization has no region code (null in JSON, empty in CSV)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_organization
from tests.lists.helpers import post, publish
from tests.records.helpers import grade

NAMES = ['甲"引号",逗号有限公司', "乙\\反斜杠有限公司", "丙🙂有限公司", "丁\u2028分行有限公司"]


def _recipe(entries: list[dict[str, Any]]) -> str:
    lines = "".join(
        json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        for e in sorted(entries, key=lambda e: e["uscc"])
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


async def test_the_red_lists_hash_is_recomputed_from_its_csv_and_jsonl_downloads(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    for i, name in enumerate(NAMES):
        uscc = await make_organization(session, name=name, region_code=None if i == 0 else "330106")
        await post(client, regulator, uscc, "grades", grade(grade="AAA", valid_until=None))
    published = await publish(client, regulator, "red")
    number, sha = published["number"], published["sha256"]
    assert published["entry_count"] == len(NAMES)
    url = f"/v1/lists/red/publications/{number}"

    jsonl = await client.get(url, params={"format": "jsonl"})
    assert jsonl.status_code == 200
    assert hashlib.sha256(jsonl.content).hexdigest() == sha
    from_jsonl = [json.loads(line) for line in jsonl.content.decode("utf-8").split("\n") if line]
    assert _recipe(from_jsonl) == sha
    assert {e["name"] for e in from_jsonl} == set(NAMES)

    csv_download = await client.get(url, headers={"Accept": "text/csv"})
    assert csv_download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(csv_download.content.decode("utf-8-sig"), newline="")))
    from_csv = [dict(row) | {"region_code": row["region_code"] or None} for row in rows]
    assert _recipe(from_csv) == sha
    assert from_csv == from_jsonl
