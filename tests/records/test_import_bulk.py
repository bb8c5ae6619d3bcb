"""A CSV import writes each chunk in bulk (SPEC §5, §7): what it stores is what
one `service.create` per row stores — the violation, its first version, one
audit entry and one change event per record — and each touched organization's
credit is right at the end."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.clock import today
from app.core.principal import SYSTEM
from app.credit import service as credit_service
from app.credit.models import CreditStatus
from app.journal.models import AuditEntry, ChangeEvent
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.records import imports
from app.records import service as records_service
from app.records.kinds import VIOLATION
from app.records.models import RecordVersion, Violation
from app.records.schemas import ViolationCreate
from tests.factories import make_organization
from tests.records.helpers import days_ago

HEADER = "uscc,case_no,authority,decided_on,category,severity,description,public_summary"
HEADER += ",penalty_amount,rectified_on"


def _csv(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_a_1200_row_import_makes_1200_entries_and_the_right_credit(
    client: AsyncClient, regulator: dict[str, str], session: AsyncSession
) -> None:
    usccs = [await make_organization(session) for _ in range(5)]
    rows = [
        f"{usccs[n % 5]},千二{n},局,{days_ago(3 + n % 40)},x,"
        f"{'serious' if n == 0 else 'minor'},内部{n},s{n},{n},"
        for n in range(1200)
    ]
    response = await client.post(
        "/v1/imports/violations?mode=partial",
        content=_csv(rows),
        headers=regulator | {"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["imported"] == 1200
    assert report["rejected"] == []
    assert [c["line"] for c in report["created"]] == list(range(2, 1202))  # 3 chunks of 500

    ids = {str(i) for i in await session.scalars(select(Violation.id))}
    assert {c["id"] for c in report["created"]} == ids
    assert len(ids) == 1200
    entries = (
        await session.execute(
            select(AuditEntry.entity_id, AuditEntry.uscc).where(
                AuditEntry.action == "violation.create"
            )
        )
    ).all()
    assert len(entries) == 1200  # one entry per record, each its own
    assert {e.entity_id for e in entries} == ids
    by_line = {c["id"]: usccs[(c["line"] - 2) % 5] for c in report["created"]}
    assert all(by_line[e.entity_id] == e.uscc for e in entries)
    events = await session.scalars(
        select(ChangeEvent.data["id"].astext).where(ChangeEvent.type == "violation.recorded")
    )
    assert sorted(events) == sorted(ids)
    assert await _count(session, RecordVersion, RecordVersion.record_type == "violation") == 1200

    # Each touched organization's stored credit is what its 240 violations give.
    orgs = list(await session.scalars(select(Organization).where(Organization.uscc.in_(usccs))))
    histories = await credit_service.histories_of(session, {o.id: o.status for o in orgs})
    for org in orgs:
        assert len(histories[org.id].violations) == 240
        evaluated = credit_service.evaluate(org.id, org.uscc, histories[org.id], today())
        expected = credit_service.fields_of(evaluated)
        status = await session.get(CreditStatus, org.id, populate_existing=True)
        assert status is not None
        stored = credit_service.stored_fields(status)
        assert {k: v for k, v in stored.items() if k != "updated_at"} == {
            k: v for k, v in expected.items() if k != "updated_at"
        }
    credit = (await client.get(f"/v1/organizations/{usccs[0]}/credit")).json()
    assert credit["black_list"] is True  # the imported serious violation counts
    assert credit["grade"] == "D"


# What may differ between two records of the same row: who they are and when.
_OWN = {"id", "case_no", "created_at", "updated_at", "public_from", "public_until"}


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _OWN}


async def _stored(session: AsyncSession, violation_id: str) -> dict[str, Any]:
    """Everything stored for a created violation, its own id and times aside."""
    v = await session.get(Violation, violation_id, populate_existing=True)
    assert v is not None
    version = await session.scalar(select(RecordVersion).where(RecordVersion.record_id == v.id))
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.entity_id == str(v.id)))
    assert version is not None and entry is not None
    event = await session.scalar(
        select(ChangeEvent).where(ChangeEvent.data["id"].astext == str(v.id))
    )
    assert event is not None
    before_kind = await session.scalar(
        text("SELECT coalesce(jsonb_typeof(before), 'SQL NULL') FROM audit_entries WHERE id = :i"),
        {"i": entry.id},
    )
    digest = journal.private_digest(v.private_salt, v.description)
    assert entry.after is not None and entry.after["description"] == digest
    leaf = json.loads(entry.leaf)  # the bytes the leaf hash covers
    assert (leaf["at"], leaf["entity_id"], leaf["after"]) == (
        f"{entry.at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%fZ}",
        str(v.id),
        entry.after,
    )
    # The entry's own time is the violation's, and so are its version's and event's.
    assert v.created_at == v.updated_at == entry.at == version.recorded_at == event.at
    return {
        "violation": _same(records_service.snapshot(v)),
        "version": (
            version.version,
            version.change,
            version.recorded_role,
            version.recorded_by,
            _same(version.data),
        ),
        "entry": (
            entry.action,
            entry.entity,
            entry.uscc,
            entry.actor_role,
            entry.actor_key_id,
            before_kind,
            _same(entry.after) | {"description": "salted"},
        ),
        "leaf": {k: v for k, v in leaf.items() if k not in ("at", "entity_id", "after")},
        "event": (event.type, event.uscc, _same(event.data)),
    }


async def test_an_imported_row_is_stored_as_one_create_stores_it(
    session: AsyncSession,
) -> None:
    uscc = await make_organization(session)
    org = await organization_service.find(session, uscc)
    fields = {
        "authority": "杭州市市场监督管理局",
        "decided_on": days_ago(20),
        "category": "产品质量",
        "severity": "general",
        "description": "内部案情",
        "public_summary": "销售不合格插座",
        "penalty_amount": "5000.50",
        "rectified_on": days_ago(5),
    }
    one = await records_service.create(
        session,
        SYSTEM,
        VIOLATION,
        org,
        ViolationCreate.model_validate(fields | {"case_no": "单1"}),
        imported=True,
    )
    row = ",".join([uscc, "批1", *(fields[k] for k in HEADER.split(",")[2:])])
    report = await imports.run(session, SYSTEM, _csv([row]), "atomic")
    assert report.imported == 1
    single = await _stored(session, str(one.id))
    bulk = await _stored(session, str(report.created[0].id))
    assert bulk == single
    assert single["entry"][5] == "null"  # a create's `before` is JSON null, as ever
