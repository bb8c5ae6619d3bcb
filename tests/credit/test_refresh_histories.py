"""The write path's refresh (`credit_service.refresh_after_write`) reads an
organization's inputs, records and the providers' facts in one statement; the
reads and the daily refresh use `histories_of`. Both must see the same history,
and what the write path stores must be what the engine makes of `histories_of`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.credit import service as credit_service
from app.credit.models import CreditStatus
from app.organizations.models import Organization
from app.policy import policy, versions
from tests.complaints.helpers import complaint_body
from tests.factories import make_key, make_organization
from tests.records.helpers import grade, inspection, recall, violation

TODAY = dt.date(2026, 6, 15)
V2_FROM = dt.date(2026, 1, 1)
HISTORY_FIELDS = (
    "status",
    "assessments",
    "violations",
    "inspections",
    "recalls",
    "complaints",
    "notices",
    "objections",
)


@pytest.fixture(autouse=True)
def under_v2() -> Iterator[None]:
    """Notices, objections and complaints (C1) are inputs of policy v2."""
    with versions.v2_from(V2_FROM), clock.frozen(TODAY):
        yield


@dataclass
class Compared:
    """What the write path's refresh was given, each time, beside `histories_of`."""

    last: dict[uuid.UUID, policy.History] = field(default_factory=dict)
    days: dict[uuid.UUID, dt.date] = field(default_factory=dict)
    count: dict[uuid.UUID, int] = field(default_factory=dict)
    differences: list[tuple[uuid.UUID, str, Any, Any]] = field(default_factory=list)


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Compared:
    """Every refresh of the write path (`_recompute` given the histories it read)
    compares them with `histories_of` on the same session, before storing."""
    seen = Compared()
    original = credit_service._recompute

    async def recompute(
        session: AsyncSession,
        organizations: Any,
        statuses: dict[uuid.UUID, str],
        previous: dict[uuid.UUID, dict[str, Any]],
        on: dt.date,
        histories: dict[uuid.UUID, policy.History] | None = None,
    ) -> None:
        if histories is not None:
            # The statuses too: from the table, not from the statement under test.
            ids = [org_id for org_id, _ in organizations]
            rows = await session.execute(
                select(Organization.id, Organization.status).where(Organization.id.in_(ids))
            )
            statuses_now = {org_id: status for org_id, status in rows}
            expected = await credit_service.histories_of(session, statuses_now)
            for org_id in ids:
                for name in HISTORY_FIELDS:
                    got, want = getattr(histories[org_id], name), getattr(expected[org_id], name)
                    if got != want:
                        seen.differences.append((org_id, name, got, want))
                seen.last[org_id], seen.days[org_id] = histories[org_id], on
                seen.count[org_id] = seen.count.get(org_id, 0) + 1
        await original(session, organizations, statuses, previous, on, histories)

    monkeypatch.setattr(credit_service, "_recompute", recompute)
    return seen


class Registry:
    """The test's writes through the API, as a regulator (and a second official)."""

    def __init__(
        self, client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
    ) -> None:
        self.client, self.session, self.regulator = client, session, regulator
        self.other: dict[str, str] = {}

    async def start(self) -> Registry:
        self.other = await make_key(self.session, "regulator")
        return self

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Any:
        response = await self.client.post(path, json=body, headers=headers or self.regulator)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def record(self, uscc: str, kind: str, body: dict[str, Any]) -> Any:
        return await self.post(f"/v1/organizations/{uscc}/{kind}", body)

    async def patch_violation(self, record: dict[str, Any], body: dict[str, Any]) -> Any:
        response = await self.client.patch(
            f"/v1/violations/{record['id']}",
            json=body,
            headers=self.regulator | {"If-Match": f'"v{record["version"]}"'},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def complaint(self, uscc: str, category: str) -> Any:
        filed = await self.post("/v1/complaints", complaint_body(uscc=uscc, category=category), {})
        path = f"/v1/complaints/{filed['id']}/transitions"
        for move in ({"to": "accepted"}, {"to": "mediating"}):
            await self.post(path, move)
        return await self.post(path, {"to": "resolved", "substantiated": True})

    async def notice_of(self, uscc: str) -> str:
        response = await self.client.get(f"/v1/organizations/{uscc}/credit")
        notice_id = response.json()["notice_id"]
        assert notice_id is not None, response.text
        return str(notice_id)

    async def deliver(self, notice_id: str) -> Any:
        return await self.post(f"/v1/notices/{notice_id}/delivery", {})

    async def object_to(self, own: dict[str, str], record_type: str, record_id: str) -> Any:
        body = {"record_type": record_type, "record_id": record_id, "grounds": "事实认定有误"}
        return await self.post("/v1/objections", body, own)

    async def decide(self, objection: dict[str, Any], decision: str) -> Any:
        body = {"decision": decision, "reason": "经复核"}
        return await self.post(f"/v1/objections/{objection['id']}/decision", body, self.other)


async def _quiet(r: Registry) -> str:
    """Registered, nothing recorded yet."""
    return await make_organization(r.session)


async def _mild(r: Registry) -> str:
    """Valid AA and an expired AAA; a minor violation (M2) and a revoked one; a
    serious violation rectified and repaired (M1); a voluntary recall (info)."""
    uscc = await make_organization(r.session)
    await r.record(
        uscc, "grades", grade(grade="AAA", assessed_on="2025-01-10", valid_until="2025-12-31")
    )
    await r.record(
        uscc, "grades", grade(grade="AA", assessed_on="2026-05-16", valid_until="2027-04-11")
    )
    await r.record(
        uscc,
        "violations",
        violation(severity="minor", decided_on="2026-05-01", penalty_kinds=["warning"]),
    )
    revoked = await r.record(
        uscc, "violations", violation(severity="minor", decided_on="2026-04-01")
    )
    await r.patch_violation(revoked, {"revoked_on": "2026-04-20", "revoked_reason": "复议撤销"})
    serious = await r.record(
        uscc,
        "violations",
        violation(severity="serious", decided_on="2025-03-01", rectified_on="2025-05-01"),
    )
    repair = await r.record(
        uscc, "repairs", {"violation_id": serious["id"], "reason": "已整改到位"}
    )
    await r.post(
        f"/v1/repairs/{repair['id']}/decision", {"decision": "approved", "reason": "整改到位"}
    )
    await r.record(uscc, "inspections", inspection(result="pass", failed_items=[]))
    await r.record(uscc, "recalls", recall(kind="voluntary", initiated_on="2026-04-01"))
    return uscc


async def _capped(r: Registry) -> str:
    """A, capped at C by an open general violation (G1), a failed inspection (G2)
    and an ordered recall (G3); a rectified general violation (M1), a rectified
    failed inspection (M3), four substantiated complaints in three clusters (C1),
    one of them under objection; a third general violation (S2 held: a notice was
    served) revoked by an upheld objection."""
    uscc = await make_organization(r.session)
    own = await make_key(r.session, "enterprise", uscc)
    await r.record(uscc, "grades", grade(grade="A", assessed_on="2026-01-10", valid_until=None))
    small = violation(decided_on="2026-04-01", penalty_kinds=["fine"], penalty_amount="5000")
    await r.record(uscc, "violations", small)
    await r.record(
        uscc, "violations", violation(decided_on="2026-02-01", rectified_on="2026-03-01")
    )
    objected = await r.record(uscc, "violations", violation(decided_on="2026-03-10"))
    await r.decide(await r.object_to(own, "violation", objected["id"]), "upheld")
    await r.record(uscc, "inspections", inspection(inspected_on="2026-03-01"))
    await r.record(
        uscc, "inspections", inspection(inspected_on="2026-02-01", rectified_on="2026-04-01")
    )
    await r.record(uscc, "recalls", recall(kind="ordered", initiated_on="2025-09-01"))
    complaints = [
        await r.complaint(uscc, c) for c in ("质量问题", "标签标识", "售后服务", "质量问题")
    ]
    # One alone in its cluster (the cluster of two is named by either complaint).
    await r.object_to(own, "complaint", complaints[1]["id"])
    return uscc


async def _pending(r: Registry) -> str:
    """A serious violation (S1) under v2: notice served, delivered, and the
    violation under an objection still open."""
    with clock.frozen(dt.date(2026, 6, 8)):
        uscc = await make_organization(r.session)
        own = await make_key(r.session, "enterprise", uscc)
        made = await r.record(
            uscc, "violations", violation(severity="serious", decided_on="2026-06-01")
        )
        notice_id = await r.notice_of(uscc)
    with clock.frozen(dt.date(2026, 6, 9)):
        await r.deliver(notice_id)
    with clock.frozen(dt.date(2026, 6, 10)):
        await r.object_to(own, "violation", made["id"])
    return uscc


async def _listed(r: Registry) -> str:
    """AAA, then three general violations in March (S2, one rectified later):
    notice served and delivered, an objection rejected, listed after the deadline."""
    with clock.frozen(dt.date(2026, 3, 5)):
        uscc = await make_organization(r.session)
        own = await make_key(r.session, "enterprise", uscc)
        await r.record(uscc, "grades", grade(grade="AAA", assessed_on="2026-01-05"))
        made = [
            await r.record(uscc, "violations", violation(decided_on=f"2026-03-0{d}"))
            for d in (2, 3, 4)
        ]
        await r.deliver(await r.notice_of(uscc))
    with clock.frozen(dt.date(2026, 3, 6)):
        objection = await r.object_to(own, "violation", made[0]["id"])
    with clock.frozen(dt.date(2026, 3, 9)):
        await r.decide(objection, "rejected")
    with clock.frozen(dt.date(2026, 3, 20)):
        await r.patch_violation(made[1], {"rectified_on": "2026-03-20"})
    return uscc


async def _withdrawn(r: Registry) -> str:
    """Deregistered; a serious violation whose notice an upheld objection withdrew."""
    uscc = await make_organization(r.session, status="deregistered")
    own = await make_key(r.session, "enterprise", uscc)
    await r.record(uscc, "violations", violation(severity="serious", decided_on="2026-06-01"))
    objection = await r.object_to(own, "notice", await r.notice_of(uscc))
    await r.decide(objection, "upheld")
    return uscc


async def _a_level_deregistered(r: Registry) -> str:
    """AAA and nothing against it, but deregistered: A-level, not on the red list."""
    uscc = await make_organization(r.session, status="deregistered")
    await r.record(uscc, "grades", grade(grade="AAA"))
    return uscc


@dataclass(frozen=True)
class Case:
    make: Callable[[Registry], Awaitable[str]]
    answer: tuple[str, bool, bool, bool, bool]  # grade, A-level, red, black, black pending
    rules: tuple[str, ...]  # the reasons' rules, sorted, "*" where disputed
    # What its history holds: assessments, violations, inspections, recalls,
    # complaints, notices, objections (the last write adds a passing inspection).
    sizes: tuple[int, int, int, int, int, int, int]


CASES = {
    "quiet": Case(_quiet, ("B", False, False, False, False), ("BASE",), (0, 0, 1, 0, 0, 0, 0)),
    "mild": Case(
        _mild,
        ("B", False, False, False, False),
        ("BASE", "M1", "M2", "V1"),
        (2, 3, 2, 1, 0, 0, 0),
    ),
    "capped": Case(
        _capped,
        ("C", False, False, False, False),
        ("BASE", "C1", "C1", "C1*", "G1", "G2", "G3", "M1", "M3"),
        (1, 3, 3, 1, 4, 1, 2),
    ),
    "pending": Case(
        _pending, ("D", False, False, False, True), ("BASE", "S1*"), (0, 1, 1, 0, 0, 1, 1)
    ),
    "listed": Case(
        _listed,
        ("D", False, False, True, False),
        ("BASE", "G1", "G1", "M1", "S2", "S2", "S2"),
        (1, 3, 1, 0, 0, 1, 1),
    ),
    "withdrawn": Case(
        _withdrawn, ("D", False, False, False, True), ("BASE", "S1"), (0, 1, 1, 0, 0, 1, 1)
    ),
    "a_level_deregistered": Case(
        _a_level_deregistered,
        ("AAA", True, False, False, False),
        ("BASE",),
        (1, 0, 1, 0, 0, 0, 0),
    ),
}


def _sizes(hist: policy.History) -> tuple[int, ...]:
    return tuple(len(getattr(hist, name)) for name in HISTORY_FIELDS[1:])


def _rules(fields: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        sorted(r["rule_id"] + ("*" if r.get("disputed") else "") for r in fields["reasons"])
    )


async def test_the_write_path_refresh_reads_and_stores_what_histories_of_gives(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    compared: Compared,
) -> None:
    r = await Registry(client, session, regulator).start()
    usccs = {name: await case.make(r) for name, case in CASES.items()}
    rows = await session.execute(
        select(Organization.uscc, Organization.id).where(Organization.uscc.in_(usccs.values()))
    )
    ids = {uscc: org_id for uscc, org_id in rows}
    # A last write to each (a passing inspection), so that every stored status is
    # the write path's own, made today.
    for uscc in usccs.values():
        await r.record(uscc, "inspections", inspection(result="pass", failed_items=[]))

    assert compared.differences == []
    for name, case in CASES.items():
        uscc = usccs[name]
        org_id = ids[uscc]
        assert compared.count.get(org_id, 0) >= 1, name  # the write path ran for it ...
        assert compared.days[org_id] == TODAY
        assert _sizes(compared.last[org_id]) == case.sizes, name  # ... on the history meant
        org = await session.get(Organization, org_id, populate_existing=True)
        assert org is not None
        hist = (await credit_service.histories_of(session, {org_id: org.status}))[org_id]
        assert hist == compared.last[org_id], name
        evaluated = credit_service.evaluate(org_id, uscc, hist, TODAY)
        expected = credit_service.fields_of(evaluated)
        flags = ("grade", "a_level", "red_list", "black_list", "black_list_pending")
        assert tuple(expected[f] for f in flags) == case.answer, name
        assert _rules(expected) == case.rules, name

        # The stored status is the engine's answer on histories_of, field by field.
        status = await session.get(CreditStatus, org_id, populate_existing=True)
        assert status is not None, name
        stored = credit_service.stored_fields(status)
        assert stored["updated_at"] is not None
        assert {**stored, "updated_at": None} == expected, name
        assert status.public_reasons == credit_service.public_reasons(evaluated.reasons, TODAY)
        assert status.public_until == credit_service.public_until(evaluated.reasons, TODAY)

        # The credit view without as_of (the stored answer, built by the database)
        # is the one evaluated from histories_of for today, for regulators and the public.
        for headers in (regulator, {}):
            path = f"/v1/organizations/{uscc}/credit"
            current = (await client.get(path, headers=headers)).json()
            evaluated_view = (
                await client.get(path, params={"as_of": TODAY.isoformat()}, headers=headers)
            ).json()
            assert current.pop("updated_at") is not None
            assert evaluated_view.pop("updated_at") is None
            assert current.pop("known_at") is evaluated_view.pop("known_at") is None
            assert current == evaluated_view, (name, headers)
