"""Receiving complaints and reports: subjects, proof of scan, privacy, the form."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calendar import service as calendar_service
from app.complaints.models import Complaint
from app.core.clock import today
from app.journal.models import AuditEntry
from tests.codes.helpers import item_codes
from tests.complaints.helpers import PERSON, complaint_body
from tests.factories import make_key, make_organization


def _parts(path: str) -> tuple[str, str, str]:
    match = re.match(r"/01/(\d{14})/10/([^/]+)/21/(\w+)$", path)
    assert match
    return match.group(1), match.group(2), match.group(3)


async def test_a_scanned_item_complaint_is_received_with_its_clock(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, count=1)
    gtin, lot, serial = _parts(paths[0])
    response = await client.post(
        "/v1/complaints", json=complaint_body(gtin=gtin, lot=lot, serial=serial)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "received" and body["kind"] == "complaint"
    assert body["uscc"] == uscc and body["scan_proof"] is True
    calendar = await calendar_service.current(session)
    assert body["due_on"] == calendar.working_deadline(today(), 7).isoformat()
    assert response.headers["location"] == f"/v1/complaints/{body['id']}"
    # Never echoed: not the complainant, not the phone.
    assert "complainant" not in body and PERSON["phone"] not in response.text
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint.receive"))
    assert audit is not None and PERSON["phone"] not in str(audit.after)
    assert PERSON["name"] not in str(audit.after)
    assert audit.after is not None and len(audit.after["complainant_sha256"]) == 64


async def test_no_subject_is_422_naming_both_fields(client: AsyncClient) -> None:
    response = await client.post("/v1/complaints", json=complaint_body())
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"gtin", "uscc"}


async def test_a_complaint_needs_its_complainant_a_report_does_not(
    client: AsyncClient, uscc: str
) -> None:
    missing = await client.post("/v1/complaints", json=complaint_body(uscc=uscc, complainant=None))
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "complainant"
    report = await client.post(
        "/v1/complaints", json=complaint_body(kind="report", uscc=uscc, complainant=None)
    )
    assert report.status_code == 201 and report.json()["anonymous"] is True


async def test_a_forged_serial_is_422_naming_serial(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, count=1)
    gtin, lot, serial = _parts(paths[0])
    forged = serial[:-1] + ("A" if serial[-1] != "A" else "B")
    response = await client.post(
        "/v1/complaints", json=complaint_body(gtin=gtin, lot=lot, serial=forged)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "serial"
    assert forged not in response.text or "serial" in response.text


async def test_unknown_subjects_and_mismatched_producer_are_422(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str], uscc: str
) -> None:
    gtin, _ = await item_codes(client, regulator, uscc, count=1)
    other = await make_organization(session)
    mismatch = await client.post("/v1/complaints", json=complaint_body(gtin=gtin, uscc=other))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "uscc"
    unknown = await client.post("/v1/complaints", json=complaint_body(gtin="06901234567892"))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "gtin"


async def test_who_sees_the_complainant(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    enterprise: dict[str, str],
    partner: dict[str, str],
    uscc: str,
) -> None:
    created = await client.post("/v1/complaints", json=complaint_body(uscc=uscc))
    id = created.json()["id"]
    as_regulator = await client.get(f"/v1/complaints/{id}", headers=regulator)
    assert as_regulator.json()["complainant"] == PERSON
    as_owner = await client.get(f"/v1/complaints/{id}", headers=enterprise)
    assert as_owner.status_code == 200 and "complainant" not in as_owner.json()
    assert "description" not in as_owner.json()  # the account is for the regulators
    assert PERSON["phone"] not in as_owner.text
    listed = await client.get("/v1/complaints", headers=enterprise)
    assert [c["id"] for c in listed.json()["items"]] == [id]
    assert PERSON["phone"] not in listed.text
    stranger = await make_key(session, "enterprise", await make_organization(session))
    assert (await client.get(f"/v1/complaints/{id}", headers=stranger)).status_code == 404
    assert (await client.get("/v1/complaints", headers=partner)).status_code == 403
    assert (await client.get("/v1/complaints")).status_code == 401
    changes = await client.get("/v1/changes", headers=partner)
    assert PERSON["phone"] not in changes.text


async def test_only_regulators_name_a_channel(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    anonymous = await client.post("/v1/complaints", json=complaint_body(uscc=uscc, channel="12315"))
    assert anonymous.status_code == 422 and anonymous.json()["errors"][0]["field"] == "channel"
    intake = await client.post(
        "/v1/complaints",
        json=complaint_body(uscc=uscc, channel="12315", authority="杭州市西湖区市场监督管理局"),
        headers=regulator,
    )
    assert intake.status_code == 201
    assert intake.json()["source"] == "regulator" and intake.json()["channel"] == "12315"


async def test_identical_complaints_form_a_cluster(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    gtin, _ = await item_codes(client, regulator, uscc, count=1)
    ids = []
    for _ in range(3):
        response = await client.post("/v1/complaints", json=complaint_body(gtin=gtin, lot="L1"))
        ids.append(response.json()["id"])
    other = await client.post("/v1/complaints", json=complaint_body(gtin=gtin, category="其他"))
    assert (await client.get(f"/v1/complaints/{ids[0]}", headers=regulator)).json()[
        "cluster_size"
    ] == 3
    assert other.json()["cluster_size"] == 1


async def test_the_resolver_page_button_and_the_form(
    client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    _, paths = await item_codes(client, regulator, uscc, count=1)
    gtin, lot, serial = _parts(paths[0])
    page = await client.get(paths[0])
    assert 'action="/complaints/new"' in page.text and "投诉举报" in page.text
    assert f'name="serial" value="{serial}"' in page.text
    form = await client.get("/complaints/new", params={"gtin": gtin, "lot": lot, "serial": serial})
    assert form.status_code == 200 and f'value="{serial}"' in form.text
    posted = await client.post(
        "/v1/complaints",
        data={
            "kind": "complaint",
            "gtin": gtin,
            "lot": lot,
            "serial": serial,
            "uscc": uscc,
            "category": "质量问题",
            "description": "漏电",
            "complainant_name": "王小明",
            "complainant_phone": "13800138000",
            "complainant_address": "杭州",
        },
    )
    assert posted.status_code == 201 and "已收到您的投诉" in posted.text
    assert "13800138000" not in posted.text
    bad = await client.post(
        "/v1/complaints",
        data={"kind": "complaint", "uscc": uscc, "category": "x", "description": "y"},
    )
    assert bad.status_code == 422 and "complainant" in bad.text
    assert bad.headers["content-type"].startswith("text/html")


async def test_anonymous_complaints_are_rate_limited(
    app: FastAPI, client: AsyncClient, regulator: dict[str, str], uscc: str
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"rate_limit_feedback": "2/minute"})
    body = complaint_body(kind="report", uscc=uscc, complainant=None)
    codes = [(await client.post("/v1/complaints", json=body)).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert (await client.post("/v1/complaints", json=body, headers=regulator)).status_code == 201


async def test_a_partner_may_report_but_not_read(
    client: AsyncClient, partner: dict[str, str], uscc: str
) -> None:
    body = complaint_body(kind="report", uscc=uscc, complainant=None)
    response = await client.post("/v1/complaints", json=body, headers=partner)
    assert response.status_code == 201 and response.json()["source"] == "partner"
    read = await client.get(f"/v1/complaints/{response.json()['id']}", headers=partner)
    assert read.status_code == 403


async def test_anonymous_filers_are_counted_per_ipv6_48(
    app: FastAPI, session: AsyncSession, uscc: str
) -> None:
    ids = []
    for peer in ("2001:db8:7:1::5", "2001:db8:7:ffff::9", "2001:db8:8::1", "203.0.113.7"):
        transport = ASGITransport(app=app, client=(peer, 40000))
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            body = complaint_body(kind="report", uscc=uscc, complainant=None)
            response = await client.post("/v1/complaints", json=body)
            assert response.status_code == 201
            ids.append(uuid.UUID(response.json()["id"]))
    rows = await session.execute(select(Complaint.id, Complaint.client_hash))
    found = {id: hashed for id, hashed in rows.all()}
    hashes = [found[id] for id in ids]
    assert hashes[0] == hashes[1]  # the same /48
    assert len({hashes[1], hashes[2], hashes[3]}) == 3
