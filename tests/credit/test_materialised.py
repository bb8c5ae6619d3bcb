"""Property: after any sequence of record writes, status changes and days passing,
the materialised status equals a fresh evaluation of the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.principal import SYSTEM
from app.credit import history
from app.credit import service as credit_service
from app.organizations import service as organization_service
from app.policy import policy
from app.records import schemas
from app.records import service as records_service
from app.records.kinds import GRADE, INSPECTION, RECALL, VIOLATION
from tests.factories import make_organization

START = dt.date(2026, 6, 15)
FLAGS = (
    "grade",
    "assessed_grade",
    "a_level",
    "red_list",
    "black_list",
    "holds_until",
    "expected_exit",
)

days_back = st.integers(min_value=0, max_value=1500)
op = st.one_of(
    st.tuples(
        st.just("grade"), st.sampled_from(policy.GRADES), days_back, st.none() | st.integers(0, 800)
    ),
    st.tuples(st.just("violation"), st.sampled_from(policy.SEVERITIES), days_back),
    st.tuples(st.just("rectify"), st.integers(0, 5), st.integers(0, 400)),
    st.tuples(st.just("revoke"), st.integers(0, 5), st.integers(0, 400)),
    st.tuples(st.just("inspection"), st.sampled_from(("pass", "fail")), days_back),
    st.tuples(st.just("rectify_inspection"), st.integers(0, 5), st.integers(0, 400)),
    st.tuples(st.just("recall"), st.sampled_from(("voluntary", "ordered")), days_back),
    st.tuples(
        st.just("deregister"),
    ),
    st.tuples(st.just("advance"), st.integers(1, 400)),
)


async def _apply(
    session: AsyncSession, org: Any, step: tuple[Any, ...], made: dict[str, list[Any]], n: int
) -> None:
    today = clock.today()
    kind = step[0]
    if kind == "grade":
        assessed = today - dt.timedelta(days=step[2])
        until = None if step[3] is None else assessed + dt.timedelta(days=step[3])
        data = schemas.GradeCreate(
            grade=step[1], assessed_on=assessed, valid_until=until, authority="局"
        )
        await records_service.create(session, SYSTEM, GRADE, org, data)
    elif kind == "violation":
        v = schemas.ViolationCreate(
            case_no=f"C{n}-{org.uscc}",
            authority="局",
            decided_on=today - dt.timedelta(days=step[2]),
            category="质量",
            severity=step[1],
            public_summary="摘要",
        )
        made["violations"].append(await records_service.create(session, SYSTEM, VIOLATION, org, v))
    elif kind in ("rectify", "revoke") and made["violations"]:
        record = made["violations"][step[1] % len(made["violations"])]
        on = min(today, record.decided_on + dt.timedelta(days=step[2]))
        if record.repaired_on is not None:
            return
        changes = (
            {"rectified_on": on}
            if kind == "rectify"
            else {"revoked_on": on, "revoked_reason": "撤销"}
        )
        await records_service.apply_changes(session, SYSTEM, VIOLATION, record, org, changes)
    elif kind == "inspection":
        i = schemas.InspectionCreate(
            report_no=f"R{n}-{org.uscc}",
            authority="局",
            inspected_on=today - dt.timedelta(days=step[2]),
            product_name="产品",
            standard="GB 1",
            result=step[1],
        )
        made["inspections"].append(
            await records_service.create(session, SYSTEM, INSPECTION, org, i)
        )
    elif kind == "rectify_inspection":
        failed = [i for i in made["inspections"] if i.result == "fail"]
        if failed:
            record = failed[step[1] % len(failed)]
            on = min(today, record.inspected_on + dt.timedelta(days=step[2]))
            await records_service.apply_changes(
                session, SYSTEM, INSPECTION, record, org, {"rectified_on": on}
            )
    elif kind == "recall":
        r = schemas.RecallCreate(
            recall_no=f"RC{n}-{org.uscc}",
            product_name="产品",
            initiated_on=today - dt.timedelta(days=step[2]),
            kind=step[1],
            hazard_class=2,
            remedy="更换",
        )
        await records_service.create(session, SYSTEM, RECALL, org, r)
    elif kind == "deregister":
        from app.organizations.schemas import OrganizationWrite

        await organization_service.upsert(
            session, SYSTEM, org.uscc, OrganizationWrite(name=org.name, status="deregistered")
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(op, min_size=1, max_size=10))
async def test_materialised_status_equals_fresh_evaluation(
    session: AsyncSession, steps: list[tuple[Any, ...]]
) -> None:
    day = START
    with clock.frozen(day):
        uscc = await make_organization(session)
        org = await organization_service.find(session, uscc)
    made: dict[str, list[Any]] = {"violations": [], "inspections": []}
    for n, step in enumerate(steps):
        if step[0] == "advance":
            day += dt.timedelta(days=step[1])
            continue
        with clock.frozen(day):
            await _apply(session, org, step, made, n)
            await _check(session, org, day)
    with clock.frozen(day):
        await _check(session, org, day)


async def _check(session: AsyncSession, org: Any, day: dt.date) -> None:
    status = await credit_service.current(session, org)
    await session.refresh(org)
    hist = (await history.current(session, {org.id: org.status}))[org.id]
    fresh = policy.evaluate(hist, day)
    assert status.as_of <= day
    assert {f: getattr(status, f) for f in FLAGS} == {f: getattr(fresh, f) for f in FLAGS}
    assert [r["rule_id"] for r in status.reasons] == [r.rule_id for r in fresh.reasons]
