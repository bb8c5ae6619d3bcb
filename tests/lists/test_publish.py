"""Publishing: shapes and order, numbering, the audit witness, expected exits by
the policy, time travel, stale statuses, validation and idempotency."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.audit.models import AuditEntry
from app.changes.models import ChangeEvent
from app.core import clock
from app.journal import heads
from app.lists import canonical, service
from app.policy.months import add_months, first_day_outside
from tests.factories import committed_key, make_key, make_organization
from tests.lists.conftest import TODAY
from tests.lists.helpers import black_listed, post, publish, red_listed
from tests.records.helpers import grade, violation


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


async def test_black_publication_shape_order_and_public_fields(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    first, v1 = await black_listed(client, session, regulator, decided_on=ago(100))
    second, v2 = await black_listed(client, session, regulator, decided_on=ago(5))
    await make_organization(session)  # clean: not listed
    response = await client.post(
        "/v1/lists/black/publications", json={"note": "第一期"}, headers=regulator
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/v1/lists/black/publications/1"
    body = response.json()
    assert set(body) == {
        "kind",
        "number",
        "as_of",
        "published_at",
        "note",
        "entry_count",
        "sha256",
        "audit_seq",
        "audit_hash",
        "audit_tree_head",
        "policy_version",
        "entries",
    }
    assert (body["kind"], body["number"], body["as_of"]) == ("black", 1, TODAY.isoformat())
    assert (body["note"], body["entry_count"], body["policy_version"]) == ("第一期", 2, "v1")
    entries = body["entries"]["items"]
    assert [e["uscc"] for e in entries] == sorted([first, second])
    by_uscc = {e["uscc"]: e for e in entries}
    for uscc, v in ((first, v1), (second, v2)):
        entry = by_uscc[uscc]
        assert set(entry) == {"uscc", "name", "reasons", "listed_since", "expected_exit"}
        assert entry["reasons"] == [
            {
                "case_no": v["case_no"],
                "authority": v["authority"],
                "decided_on": v["decided_on"],
                "public_summary": v["public_summary"],
            }
        ]
        assert entry["listed_since"] == v["decided_on"]
    assert "内部" not in response.text  # the violation's internal description
    assert "张三" not in response.text  # the legal representative
    assert body["sha256"] == canonical.digest_entries(entries)


async def test_expected_exit_of_a_serious_violation_is_36_months_on(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    decided = dt.date(2024, 3, 31)
    uscc, _ = await black_listed(client, session, regulator, decided_on=decided.isoformat())
    entry = (await publish(client, regulator, "black"))["entries"]["items"][0]
    assert entry["uscc"] == uscc
    assert entry["listed_since"] == decided.isoformat()
    assert entry["expected_exit"] == first_day_outside(decided, 36).isoformat()
    # On 2027-03-31, T − 36 months = 2024-03-31 is not before d: no longer within.
    assert entry["expected_exit"] == "2027-03-31"


async def test_expected_exit_of_three_violations_in_12_months(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    dates = [ago(300), ago(200), ago(100)]
    made = [
        await post(
            client,
            regulator,
            uscc,
            "violations",
            violation(severity="general", decided_on=d, rectified_on=d),
        )
        for d in dates
    ]
    entry = (await publish(client, regulator, "black"))["entries"]["items"][0]
    # S2 holds while three stay within 12 months: until the oldest leaves.
    oldest = dt.date.fromisoformat(dates[0])
    assert entry["expected_exit"] == first_day_outside(oldest, 12).isoformat()
    assert entry["listed_since"] == dates[2]
    assert [r["case_no"] for r in entry["reasons"]] == [v["case_no"] for v in made]


async def test_red_list_entries_and_deregistered_organizations(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    active = await red_listed(
        client, session, regulator, assessed_on=ago(30), valid_until=ago(-300)
    )
    gone = await make_organization(session, status="deregistered")
    await post(client, regulator, gone, "grades", grade(assessed_on=ago(30), valid_until=None))
    body = await publish(client, regulator, "red")
    assert body["entries"]["items"] == [
        {
            "uscc": active,
            "name": body["entries"]["items"][0]["name"],
            "grade": "AAA",
            "region_code": active[2:8],
        }
    ]


async def test_numbering_is_per_kind(client: AsyncClient, regulator: dict[str, str]) -> None:
    numbers = []
    for kind in ("red", "black", "black", "red", "black"):
        response = await client.post(f"/v1/lists/{kind}/publications", json={}, headers=regulator)
        assert response.status_code == 201
        numbers.append((kind, response.json()["number"]))
        assert response.headers["location"] == f"/v1/lists/{kind}/publications/{numbers[-1][1]}"
    assert numbers == [("red", 1), ("black", 1), ("black", 2), ("red", 2), ("black", 3)]


async def test_witness_is_the_signed_tree_head_covering_every_earlier_write(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], partner: dict[str, str]
) -> None:
    await black_listed(client, session, regulator, decided_on=ago(10))
    entries_before = await session.scalar(select(func.count()).select_from(AuditEntry))
    body = await publish(client, regulator, "black")
    head = body["audit_tree_head"]
    # The head covers every entry written before the publication, and no more.
    assert head["tree_size"] == entries_before
    assert (body["audit_seq"], body["audit_hash"]) == (head["tree_size"], head["root_hash"])
    keys = (await client.get("/v1/audit/keys")).json()["keys"]
    public = next(base64.b64decode(k["public_key"]) for k in keys if k["key_id"] == head["key_id"])
    assert heads.verify_head(head, public)
    assert (await client.get(f"/v1/audit/tree-head?tree_size={head['tree_size']}")).json() == head
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.entity == "list_publication"))
    assert entry is not None
    assert (entry.action, entry.entity_id) == ("list.publish", "black/1")
    assert entry.after is not None
    assert entry.after["sha256"] == body["sha256"]
    assert entry.after["audit_seq"] == body["audit_seq"]
    event = await session.scalar(select(ChangeEvent).where(ChangeEvent.type == "list.published"))
    assert event is not None
    assert event.data["number"] == 1 and event.data["sha256"] == body["sha256"]
    feed = (await client.get("/v1/changes", headers=partner)).json()["items"]
    assert any(e["type"] == "list.published" for e in feed)


async def test_past_as_of_is_evaluated_from_history(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    recent, _ = await black_listed(client, session, regulator, decided_on=ago(10))
    old_decided = add_months(TODAY, -37)
    expired, _ = await black_listed(client, session, regulator, decided_on=old_decided.isoformat())
    as_of = add_months(TODAY, -2)
    now = await publish(client, regulator, "black")
    then = await publish(client, regulator, "black", as_of=as_of.isoformat())
    assert [e["uscc"] for e in now["entries"]["items"]] == [recent]
    assert then["as_of"] == as_of.isoformat()
    assert [e["uscc"] for e in then["entries"]["items"]] == [expired]
    entry = then["entries"]["items"][0]
    assert entry["listed_since"] == old_decided.isoformat()
    assert entry["expected_exit"] == first_day_outside(old_decided, 36).isoformat()
    assert then["sha256"] == canonical.digest_entries(then["entries"]["items"])


async def test_past_red_list_uses_assessments_valid_then(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    expired = await red_listed(
        client, session, regulator, assessed_on=ago(100), valid_until=ago(10)
    )
    current = await red_listed(client, session, regulator, assessed_on=ago(5), valid_until=None)
    now = await publish(client, regulator, "red")
    then = await publish(client, regulator, "red", as_of=ago(50))
    assert [e["uscc"] for e in now["entries"]["items"]] == [current]
    assert [e["uscc"] for e in then["entries"]["items"]] == [expired]


async def test_stale_statuses_are_refreshed_before_publishing(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    decided = add_months(TODAY, -36) + dt.timedelta(days=1)  # last listed day: today
    leaving, _ = await black_listed(client, session, regulator, decided_on=decided.isoformat())
    staying, _ = await black_listed(client, session, regulator, decided_on=ago(30))
    assert (await publish(client, regulator, "black"))["entry_count"] == 2
    with clock.frozen(TODAY + dt.timedelta(days=1)):
        later = await publish(client, regulator, "black")
    assert [e["uscc"] for e in later["entries"]["items"]] == [staying]
    assert leaving != staying


async def test_idempotency_key(client: AsyncClient, regulator: dict[str, str]) -> None:
    headers = regulator | {"Idempotency-Key": "publish-1"}
    first = await client.post("/v1/lists/red/publications", json={"note": "a"}, headers=headers)
    again = await client.post("/v1/lists/red/publications", json={"note": "a"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    other = await client.post("/v1/lists/red/publications", json={"note": "b"}, headers=headers)
    assert other.status_code == 422
    listed = (await client.get("/v1/lists/red/publications")).json()["items"]
    assert [p["number"] for p in listed] == [1]


async def test_bad_requests(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    cases: list[tuple[str, Any, dict[str, str], int, str | None]] = [
        ("black", {"as_of": tomorrow}, regulator, 422, "as_of"),
        ("black", {"as_of": "2026-02-30"}, regulator, 422, "as_of"),
        ("black", {"as_of": "1900-01-01"}, regulator, 422, "as_of"),
        ("black", {"colour": "red"}, regulator, 422, "colour"),
        ("black", {"note": "x" * 2001}, regulator, 422, "note"),
        ("black", [], regulator, 422, None),
        ("green", {}, regulator, 422, "kind"),
        ("black", {}, {}, 401, None),
        ("black", {}, await make_key(session, "partner"), 403, None),
    ]
    for kind, body, headers, status, field in cases:
        response = await client.post(f"/v1/lists/{kind}/publications", json=body, headers=headers)
        assert response.status_code == status, (kind, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if field:
            assert field in {e["field"] for e in response.json()["errors"]}, response.text
    listed = await client.get("/v1/lists/black/publications")
    assert listed.json()["items"] == []


async def test_concurrent_publications_get_consecutive_numbers(
    committed_client: AsyncClient, engine: AsyncEngine
) -> None:
    headers = await committed_key(engine, "regulator")
    responses = await asyncio.gather(
        *(
            committed_client.post("/v1/lists/black/publications", json={}, headers=headers)
            for _ in range(4)
        )
    )
    assert sorted(r.json()["number"] for r in responses) == [1, 2, 3, 4]
    # Each witness is a distinct chain head: the publications were serialised.
    assert len({r.json()["audit_seq"] for r in responses}) == 4


async def test_demo_lists(session: AsyncSession) -> None:
    summary = await service.publish_demo_lists(session)
    assert summary == "红榜 第 1 期 0 家; 黑榜 第 1 期 0 家"
