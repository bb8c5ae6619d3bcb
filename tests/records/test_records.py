"""Recording and reading the four record kinds; validation of every enum and date rule."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.changes.models import ChangeEvent
from app.core.clock import today
from app.records.models import RecordVersion, Violation
from tests.factories import make_key, make_organization
from tests.records.helpers import BODIES, days_ago, grade, inspection, recall, violation
from tests.snapshot import assert_unchanged, snapshot


def tomorrow() -> str:
    return (today() + dt.timedelta(days=1)).isoformat()


@pytest.fixture
async def uscc(session: AsyncSession) -> str:
    return await make_organization(session)


@pytest.mark.parametrize("plural", list(BODIES))
async def test_create_returns_201_with_the_object(
    client: AsyncClient, regulator: dict[str, str], uscc: str, plural: str
) -> None:
    body = BODIES[plural]()
    response = await client.post(f"/v1/organizations/{uscc}/{plural}", json=body, headers=regulator)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["uscc"] == uscc
    assert created["version"] == 1
    assert created["created_by"]
    if plural != "grades":
        assert response.headers["location"] == f"/v1/{plural}/{created['id']}"
    listed = await client.get(f"/v1/organizations/{uscc}/{plural}", headers=regulator)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


async def test_money_is_decimal_and_gtin_is_stored_as_gtin14(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    # A JSON number that a float cannot hold exactly is refused, not rounded.
    noisy = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(penalty_amount=0.1 + 0.2),  # 0.30000000000000004 on the wire
        headers=regulator,
    )
    assert noisy.status_code == 422, noisy.text
    assert [e["field"] for e in noisy.json()["errors"]] == ["penalty_amount"]
    # A number with two places is taken as the decimal it spells, answered as a string.
    v = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(penalty_amount=12000.5),
        headers=regulator,
    )
    assert v.status_code == 201, v.text
    assert '"penalty_amount":"12000.50"' in v.text.replace(" ", "")
    stored = await session.scalar(
        select(Violation.penalty_amount).where(Violation.id == uuid.UUID(v.json()["id"]))
    )
    assert isinstance(stored, decimal.Decimal) and stored == decimal.Decimal("12000.50")
    text_form = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(penalty_amount="0.30"),
        headers=regulator,
    )
    assert text_form.json()["penalty_amount"] == "0.30"
    i = await client.post(
        f"/v1/organizations/{uscc}/inspections",
        json=inspection(gtin="6901234567892"),
        headers=regulator,
    )
    assert i.json()["gtin"] == "06901234567892"


# Bodies are made when the test runs (a date computed at import goes stale at midnight).
INVALID: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("grades", lambda: grade(grade="AAAA"), "grade"),
    ("grades", lambda: grade(grade="E"), "grade"),
    ("grades", lambda: grade(assessed_on=tomorrow()), "assessed_on"),
    (
        "grades",
        lambda: grade(assessed_on=days_ago(5), valid_until=days_ago(6)),
        "valid_until is before assessed_on",
    ),
    ("grades", lambda: grade(assessed_on="2026-02-30"), "assessed_on"),
    ("grades", lambda: grade(authority=""), "authority"),
    ("violations", lambda: violation(severity="grave"), "severity"),
    ("violations", lambda: violation(decided_on=tomorrow()), "decided_on"),
    (
        "violations",
        lambda: violation(decided_on=days_ago(3), rectified_on=days_ago(4)),
        "rectified_on is before decided_on",
    ),
    ("violations", lambda: violation(rectified_on=tomorrow()), "rectified_on"),
    ("violations", lambda: violation(penalty_amount="-1"), "penalty_amount"),
    ("violations", lambda: violation(penalty_amount="1.234"), "penalty_amount"),
    ("violations", lambda: violation(penalty_amount="1e30"), "penalty_amount"),
    ("violations", lambda: violation(public_summary=""), "public_summary"),
    ("violations", lambda: violation(repaired_on=days_ago(1)), "repaired_on"),
    ("violations", lambda: violation(id="x"), "id"),
    ("inspections", lambda: inspection(result="ok"), "result"),
    ("inspections", lambda: inspection(inspected_on=tomorrow()), "inspected_on"),
    ("inspections", lambda: inspection(gtin="6901234567890"), "gtin"),
    ("inspections", lambda: inspection(result="pass", failed_items=["x"]), "passed inspection"),
    (
        "inspections",
        lambda: inspection(inspected_on=days_ago(5), rectified_on=days_ago(6)),
        "rectified_on is before inspected_on",
    ),
    ("inspections", lambda: inspection(lot="L" * 21), "lot"),
    ("recalls", lambda: recall(kind="forced"), "kind"),
    ("recalls", lambda: recall(hazard_class=4), "hazard_class"),
    ("recalls", lambda: recall(status="paused"), "status"),
    ("recalls", lambda: recall(initiated_on=tomorrow()), "initiated_on"),
    ("recalls", lambda: recall(units=-1), "units"),
    ("recalls", lambda: recall(lots=[]), "lots"),
]


@pytest.mark.parametrize(
    ("plural", "make_body", "named"),
    [pytest.param(p, b, n, id=f"{p}-{n}") for p, b, n in INVALID],
)
async def test_invalid_records_are_422_and_change_nothing(
    client: AsyncClient,
    regulator: dict[str, str],
    uscc: str,
    session: AsyncSession,
    plural: str,
    make_body: Callable[[], dict[str, Any]],
    named: str,
) -> None:
    before = await snapshot(session)
    response = await client.post(
        f"/v1/organizations/{uscc}/{plural}", json=make_body(), headers=regulator
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert named in problem["detail"] or any(named == e["field"] for e in problem["errors"])
    await assert_unchanged(session, before, f"{plural} {named}")


async def _counts(session: AsyncSession) -> tuple[int, ...]:
    out = []
    for model in (Violation, RecordVersion, AuditEntry, ChangeEvent):
        out.append(await session.scalar(select(func.count()).select_from(model)) or 0)
    return tuple(out)


async def test_duplicate_case_is_409_and_changes_nothing(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    body = violation()
    assert (
        await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=regulator)
    ).status_code == 201
    before = await snapshot(session)
    again = await client.post(
        f"/v1/organizations/{uscc}/violations", json=body | {"category": "x"}, headers=regulator
    )
    assert again.status_code == 409
    await assert_unchanged(session, before, "duplicate case")


async def test_a_write_that_fails_late_leaves_nothing_behind(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    # Unknown organization: fails after the idempotency row, before the record.
    before = await snapshot(session)  # idempotency_keys included
    response = await client.post(
        "/v1/organizations/91110000600037341L/violations",
        json=violation(),
        headers=regulator | {"Idempotency-Key": "k-late"},
    )
    assert response.status_code == 404
    await assert_unchanged(session, before, "unknown organization")
    # The key was not consumed by the failure: the same key now succeeds.
    ok = await client.post(
        f"/v1/organizations/{uscc}/violations",
        json=violation(),
        headers=regulator | {"Idempotency-Key": "k-late2"},
    )
    assert ok.status_code == 201


async def test_every_write_has_a_version_audit_entry_and_event(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    before = await _counts(session)
    created = (
        await client.post(
            f"/v1/organizations/{uscc}/violations", json=violation(), headers=regulator
        )
    ).json()
    after = await _counts(session)
    # One violation, one version, one audit entry; two events: the record and,
    # since an open general violation caps the grade at C, the credit change.
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 2]
    events = (
        await session.scalars(select(ChangeEvent).order_by(ChangeEvent.id.desc()).limit(2))
    ).all()
    assert [e.type for e in events] == ["credit.changed", "violation.recorded"]
    event = events[1]
    assert event.uscc == uscc
    assert event.data["id"] == created["id"]
    assert events[0].data["grade"] == "C"
    assert "description" not in event.data


@pytest.mark.parametrize("role", ["partner", "enterprise"])
async def test_only_regulators_write_records(
    client: AsyncClient, session: AsyncSession, uscc: str, role: str
) -> None:
    headers = await make_key(session, role, uscc if role == "enterprise" else None)
    for plural, body in BODIES.items():
        response = await client.post(
            f"/v1/organizations/{uscc}/{plural}", json=body(), headers=headers
        )
        assert response.status_code == 403
    assert (
        await client.post(f"/v1/organizations/{uscc}/violations", json=violation())
    ).status_code == 401


async def test_views_by_role(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    created = (
        await client.post(
            f"/v1/organizations/{uscc}/violations", json=violation(), headers=regulator
        )
    ).json()
    assert created["description"] == "内部案情：抽检发现（内部）"
    viewers = {
        "anonymous": {},
        "partner": await make_key(session, "partner"),
        "enterprise": await make_key(session, "enterprise", uscc),
    }
    for who, headers in viewers.items():
        listed = await client.get(f"/v1/organizations/{uscc}/violations", headers=headers)
        one = await client.get(f"/v1/violations/{created['id']}", headers=headers)
        for response in (listed, one):
            assert response.status_code == 200, who
            assert "内部案情" not in response.text, who
            assert "description" not in response.text, who
            assert "created_by" not in response.text, who
            assert "12000.50" in response.text, who  # penalties are public
            assert "生产不合格电热水壶" in response.text, who
    regulator_view = await client.get(f"/v1/violations/{created['id']}", headers=regulator)
    assert regulator_view.json()["description"] == "内部案情：抽检发现（内部）"


async def test_publication_period_hides_old_violations_from_the_public(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    from app.policy.months import add_months

    minor_cut = add_months(today(), -3)  # public while today - 3 months < decided_on
    inside = violation(severity="minor", decided_on=(minor_cut + dt.timedelta(days=1)).isoformat())
    outside = violation(severity="minor", decided_on=minor_cut.isoformat())
    general_old = violation(
        severity="general", decided_on=(add_months(today(), -36) + dt.timedelta(days=1)).isoformat()
    )
    ids = {}
    for name, body in {"inside": inside, "outside": outside, "general": general_old}.items():
        ids[name] = (
            await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=regulator)
        ).json()["id"]
    public = {
        item["id"]
        for item in (await client.get(f"/v1/organizations/{uscc}/violations")).json()["items"]
    }
    assert public == {ids["inside"], ids["general"]}
    assert (await client.get(f"/v1/violations/{ids['outside']}")).status_code == 404
    everything = (
        await client.get(f"/v1/organizations/{uscc}/violations", headers=regulator)
    ).json()["items"]
    assert len(everything) == 3


async def test_list_filters_by_date_range_and_status(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    for days, rectified in ((10, None), (20, days_ago(5)), (30, None)):
        body = violation(decided_on=days_ago(days))
        if rectified:
            body["rectified_on"] = rectified
        await client.post(f"/v1/organizations/{uscc}/violations", json=body, headers=regulator)
    url = f"/v1/organizations/{uscc}/violations"
    ranged = (
        await client.get(url, params={"from": days_ago(25), "to": days_ago(15)}, headers=regulator)
    ).json()
    assert [i["decided_on"] for i in ranged["items"]] == [days_ago(20)]
    rectified = (await client.get(url, params={"status": "rectified"}, headers=regulator)).json()
    assert [i["status"] for i in rectified["items"]] == ["rectified"]
    newest_first = (await client.get(url, headers=regulator)).json()["items"]
    assert [i["decided_on"] for i in newest_first] == [days_ago(10), days_ago(20), days_ago(30)]
    assert (await client.get(url, params={"status": "closed"})).status_code == 422


async def test_pagination_walks_every_item_once_while_records_are_inserted(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    url = f"/v1/organizations/{uscc}/inspections"
    original = set()
    for n in range(9):
        r = await client.post(
            url, json=inspection(inspected_on=days_ago(n % 4 + 1)), headers=regulator
        )
        original.add(r.json()["id"])
    seen: list[str] = []
    cursor = None
    inserted = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(url, params=params, headers=regulator)).json()
        seen += [i["id"] for i in page["items"]]
        # Insert newer and older records between pages.
        await client.post(
            url, json=inspection(inspected_on=days_ago(inserted % 6)), headers=regulator
        )
        inserted += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item was returned twice"
    assert original <= set(seen), "an item that existed from the start was skipped"


async def test_change_feed_does_not_describe_violations_past_their_publication_period(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    from app.policy.months import add_months

    partner = await make_key(session, "partner")
    old = violation(
        severity="minor",
        decided_on=add_months(today(), -3).isoformat(),  # the first day it is no longer public
        case_no="内部-OLD-1",
        public_summary="不应出现在变更流中",
    )
    created = await client.post(f"/v1/organizations/{uscc}/violations", json=old, headers=regulator)
    assert created.status_code == 201
    feed = await client.get("/v1/changes", params={"limit": 200}, headers=partner)
    recorded = [e for e in feed.json()["items"] if e["type"] == "violation.recorded"]
    assert recorded[-1]["data"] == {"id": created.json()["id"], "public": False}
    assert "内部-OLD-1" not in feed.text
    assert "不应出现在变更流中" not in feed.text
    # A public one is described.
    fresh = await client.post(
        f"/v1/organizations/{uscc}/violations", json=violation(case_no="PUB-1"), headers=regulator
    )
    feed = await client.get("/v1/changes", params={"limit": 200}, headers=partner)
    last = [e for e in feed.json()["items"] if e["type"] == "violation.recorded"][-1]
    assert last["data"]["id"] == fresh.json()["id"]
    assert last["data"]["case_no"] == "PUB-1"


async def test_grade_assessment_has_a_location(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    created = await client.post(f"/v1/organizations/{uscc}/grades", json=grade(), headers=regulator)
    assert created.status_code == 201
    location = created.headers["location"]
    assert location == f"/v1/grades/{created.json()['id']}"
    fetched = await client.get(location)
    assert fetched.status_code == 200
    assert fetched.json()["grade"] == created.json()["grade"]
    assert "created_by" not in fetched.json()


@pytest.mark.usefixtures("v1_throughout")  # v1's 3 months of a minor violation
async def test_change_feed_redacts_at_read_time_once_the_period_ends(
    client: AsyncClient, regulator: dict[str, str], uscc: str, session: AsyncSession
) -> None:
    """Issue #13 item 1: the feed served the data stored when the event was emitted, so
    a violation past its publication period (time passed, or it was reclassified)
    kept its `case_no`, `public_summary` and `penalty_amount` public for ever."""
    from app.core import clock
    from app.policy.months import add_months

    partner = await make_key(session, "partner")
    aging = violation(
        severity="minor", decided_on=days_ago(10), case_no="AGING-1", public_summary="会过期的摘要"
    )
    made = await client.post(f"/v1/organizations/{uscc}/violations", json=aging, headers=regulator)
    assert made.status_code == 201
    reclassified = violation(
        severity="general",
        decided_on=add_months(today(), -4).isoformat(),
        case_no="RECLASS-1",
        public_summary="改判为轻微",
        penalty_amount="777.77",
    )
    other = await client.post(
        f"/v1/organizations/{uscc}/violations", json=reclassified, headers=regulator
    )
    assert other.status_code == 201
    etag = (await client.get(f"/v1/violations/{other.json()['id']}")).headers["etag"]
    patched = await client.patch(
        f"/v1/violations/{other.json()['id']}",
        json={"severity": "minor"},
        headers=regulator | {"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    feed = await client.get("/v1/changes", params={"limit": 200}, headers=partner)
    assert (
        "RECLASS-1" not in feed.text and "777.77" not in feed.text and "改判为轻微" not in feed.text
    )
    assert "AGING-1" in feed.text  # still inside its 3 months
    with clock.frozen(add_months(today(), 3)):
        later = await client.get("/v1/changes", params={"limit": 200}, headers=partner)
        view = await client.get(f"/v1/violations/{made.json()['id']}", headers=partner)
    assert "AGING-1" not in later.text and "会过期的摘要" not in later.text
    events = [e for e in later.json()["items"] if e["data"].get("id") == made.json()["id"]]
    assert events and all(e["data"] == {"id": made.json()["id"], "public": False} for e in events)
    assert view.status_code == 404
    # Regulators read the record itself; the feed is the partners' view.
    assert (await client.get(f"/v1/violations/{made.json()['id']}", headers=regulator)).is_success
