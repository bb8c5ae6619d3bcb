"""The lines built in SQL are exactly Python's canonical JSON, whatever the text;
the history path (past as_of) builds the same lines as the materialised path."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.lists import canonical
from app.lists.models import ListEntry
from tests.factories import make_organization
from tests.lists.conftest import TODAY
from tests.lists.helpers import post, publish
from tests.records.helpers import grade, violation

AWKWARD = [
    '引号"和\\反斜杠',
    "制表\t换行\n回车\r退格\b换页\f",
    "控制\x01\x1f\x7f字符",
    "表情😀与\u2028行分隔\u2029",
    "<script>alert('x')</script> & 'apos' / 斜杠",
    "Ünïcödé ﬁ ＡＢＣ",
]


async def _lines(session: AsyncSession, kind: str, number: int) -> list[str]:
    rows = await session.scalars(
        select(ListEntry.line)
        .where(ListEntry.kind == kind, ListEntry.number == number)
        .order_by(ListEntry.ordinal)
    )
    return list(rows)


async def test_sql_lines_are_python_canonical_json(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    for text in AWKWARD:
        uscc = await make_organization(session, name="公司" + text)
        await post(client, regulator, uscc, "grades", grade(grade="AAA", assessed_on="2026-06-01"))
        await post(
            client,
            regulator,
            uscc,
            "violations",
            violation(
                severity="serious",
                decided_on="2026-05-01",
                case_no="案" + text,
                authority="机关" + text,
                public_summary="摘要" + text,
            ),
        )
    # The grade caps at D, so none is red; add red ones with awkward names too.
    for text in AWKWARD:
        uscc = await make_organization(session, name="红" + text)
        await post(client, regulator, uscc, "grades", grade(grade="AA", assessed_on="2026-06-01"))
    for kind in ("black", "red"):
        body = await publish(client, regulator, kind)
        lines = await _lines(session, kind, body["number"])
        assert len(lines) == len(AWKWARD)
        for line in lines:
            assert line == canonical.canonical_line(json.loads(line))
        assert (
            body["sha256"]
            == hashlib.sha256("".join(line + "\n" for line in lines).encode("utf-8")).hexdigest()
        )
    names = [json.loads(line)["name"] for line in await _lines(session, "red", 1)]
    # Names are stored trimmed of surrounding whitespace (\f and \u2029 included).
    assert sorted(names) == sorted(("红" + t).strip() for t in AWKWARD)


async def test_history_path_builds_the_same_lines(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    """Yesterday's list, evaluated from history, equals today's from the statuses
    when nothing happened in between."""
    for text in AWKWARD[:3]:
        uscc = await make_organization(session, name=text)
        for decided in ("2026-01-10", "2025-12-01"):
            await post(
                client,
                regulator,
                uscc,
                "violations",
                violation(severity="serious", decided_on=decided, public_summary="摘要" + text),
            )
        red = await make_organization(session, name="红" + text)
        await post(client, regulator, red, "grades", grade(grade="AAA", assessed_on="2026-01-01"))
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    for kind in ("black", "red"):
        now = await publish(client, regulator, kind)
        then = await publish(client, regulator, kind, as_of=yesterday)
        assert then["entry_count"] == now["entry_count"] == 3
        assert await _lines(session, kind, then["number"]) == await _lines(
            session, kind, now["number"]
        )
        assert then["sha256"] == now["sha256"]


def test_digest_is_sha256_of_newline_terminated_lines() -> None:
    assert canonical.digest([]) == hashlib.sha256(b"").hexdigest()
    entries = [{"uscc": "2", "name": "乙"}, {"name": "甲", "uscc": "1"}]
    expected = hashlib.sha256(
        '{"name":"乙","uscc":"2"}\n{"name":"甲","uscc":"1"}\n'.encode()
    ).hexdigest()
    assert canonical.digest_entries(entries) == expected
