"""Receiving complaints and reports, and moving them along their clocks."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.calendar import service as calendar_service
from app.codes.models import Product
from app.codes.serials import verify_serial
from app.complaints import clock
from app.complaints.models import Complaint
from app.complaints.schemas import ComplaintCreate, TransitionCreate
from app.core.clock import today
from app.core.database import db_now
from app.core.errors import Conflict, NotFound, Unprocessable, invalid
from app.core.principal import SYSTEM, Principal
from app.organizations.models import Organization


def cluster_key(uscc: str, gtin: str | None, lot: str | None, category: str) -> str:
    """Identical complaints: same producer, GTIN, lot and category (SPEC §10)."""
    text = json.dumps([uscc, gtin, lot, category], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def complainant_text(complainant: dict[str, Any] | None) -> str | None:
    if complainant is None:
        return None
    return json.dumps(complainant, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def audit_view(complaint: Complaint) -> dict[str, Any]:
    """The complaint as its audit entry holds it: private fields only as salted digests."""
    return complaint.plain_fields() | {
        "description_sha256": journal.private_digest(complaint.private_salt, complaint.description),
        "complainant_sha256": journal.private_digest(
            complaint.private_salt, complainant_text(complaint.complainant)
        ),
    }


COMPLAINT = journal.Audited("complaint", audit_view, lambda c: c.uscc)


async def _subject(
    session: AsyncSession, data: ComplaintCreate, secret: bytes
) -> tuple[Organization, bool]:
    """The business complained about, and whether a genuine serial proves the scan."""
    if data.gtin is None and data.uscc is None:
        raise Unprocessable(
            "at least one of gtin or uscc is required",
            errors=[
                {"field": "gtin", "message": "at least one of gtin or uscc is required"},
                {"field": "uscc", "message": "at least one of gtin or uscc is required"},
            ],
        )
    proof = False
    if data.serial is not None:
        if data.gtin is None or data.lot is None:
            raise invalid("serial", "a serial is proof of scan only with its gtin and lot")
        if not verify_serial(secret, data.gtin, data.lot, data.serial):
            raise invalid("serial", "is not a genuine code of this gtin and lot")
        proof = True
    if data.gtin is not None:
        organization = await session.scalar(
            select(Organization)
            .join(Product, Product.organization_id == Organization.id)
            .where(Product.gtin == data.gtin)
        )
        if organization is None:
            raise invalid("gtin", "no product with this GTIN is registered")
        if data.uscc is not None and data.uscc != organization.uscc:
            raise invalid("uscc", "is not the producer of this gtin")
        return organization, proof
    assert data.uscc is not None
    organization = await session.scalar(select(Organization).where(Organization.uscc == data.uscc))
    if organization is None:
        raise invalid("uscc", "no organization with this code is registered")
    return organization, proof


async def receive(
    session: AsyncSession,
    actor: Principal,
    data: ComplaintCreate,
    *,
    secret: bytes,
    client_hash: bytes | None,
    source: str,
) -> Complaint:
    """Store a complaint or report received now; its clock starts the next day."""
    if data.kind == "complaint" and data.complainant is None:
        # art. 9 (1): a complaint gives the complainant's name, telephone and address.
        raise invalid("complainant", "a complaint needs its complainant: name, phone, address")
    if not actor.is_regulator and (data.channel is not None or data.authority is not None):
        field = "channel" if data.channel is not None else "authority"
        raise invalid(field, "only a regulator's intake sets this")
    organization, proof = await _subject(session, data, secret)
    calendar = await calendar_service.current(session)
    received_on = today()
    due = clock.decision_due(calendar, data.kind, received_on)
    calendar_service.warn_unknown(calendar, received_on, due)
    complaint = Complaint(
        kind=data.kind,
        source=source,
        channel=data.channel,
        # art. 12: the county-level regulator of the business's place handles it.
        authority=data.authority or organization.region_code,
        organization_id=organization.id,
        uscc=organization.uscc,
        region_code=organization.region_code,
        gtin=data.gtin,
        lot=data.lot,
        serial=data.serial,
        scan_proof=proof,
        category=data.category,
        description=data.description,
        complainant=data.complainant.model_dump() if data.complainant else None,
        private_salt=secrets.token_bytes(16),
        client_hash=client_hash,
        cluster_key=cluster_key(organization.uscc, data.gtin, data.lot, data.category),
        received_on=received_on,
        decision_due_on=due,
        created_by=actor.key_id,
        created_at=await db_now(session),
    )
    return await COMPLAINT.save(session, actor, complaint, "complaint.receive")


async def locked(session: AsyncSession, id: uuid.UUID) -> Complaint:
    complaint = await session.get(Complaint, id, with_for_update=True, populate_existing=True)
    if complaint is None:
        raise NotFound(f"no complaint {id}")
    return complaint


def _periods(complaint: Complaint) -> list[clock.Period]:
    return [
        clock.Period(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"]))
        for p in complaint.testing_periods
    ]


def _check(complaint: Complaint, body: TransitionCreate, on: dt.date) -> None:
    if not clock.allowed(complaint.kind, complaint.status, body.to):
        raise Conflict(f"a {complaint.kind} that is {complaint.status} cannot move to {body.to}")
    if on < complaint.received_on:
        raise invalid("on", "is before the day the case was received")
    if body.to == "rejected" and body.reason not in clock.REJECT_REASONS:
        raise invalid("reason", "must be one of art. 15: " + ", ".join(clock.REJECT_REASONS))
    if body.to == "terminated" and body.reason not in clock.TERMINATE_REASONS:
        raise invalid("reason", "must be one of art. 21: " + ", ".join(clock.TERMINATE_REASONS))
    if body.to == "extended":
        if complaint.extended:
            raise Conflict("a report's clock is extended once only")
        if body.reason is None:
            raise invalid("reason", "an extension needs its reason")
    if body.to in clock.SUBSTANTIATED_REQUIRED and body.substantiated is None:
        raise invalid("substantiated", f"is required when the case moves to {body.to}")
    if body.substantiated is not None and body.to not in clock.SUBSTANTIATED_ALLOWED:
        raise invalid("substantiated", f"is not marked when moving to {body.to}")
    testing = body.testing_from is not None or body.testing_to is not None
    if body.to == "mediating" and complaint.status == "mediating" and not testing:
        raise Conflict("the complaint is already mediating (give testing_from/testing_to)")
    if testing:
        if body.to != "mediating" or body.testing_from is None or body.testing_to is None:
            raise invalid("testing_from", "testing_from and testing_to go together, in mediation")
        if body.testing_to < body.testing_from:
            raise invalid("testing_to", "is before testing_from")


async def transition(
    session: AsyncSession, actor: Principal, id: uuid.UUID, body: TransitionCreate
) -> Complaint:
    """Move a case; a move its status does not allow is 409."""
    complaint = await locked(session, id)
    on = body.on or today()
    _check(complaint, body, on)
    before = audit_view(complaint)
    calendar = await calendar_service.current(session)
    to = body.to
    if to == "extended":
        complaint.extended = True
        complaint.extension_reason = body.reason
        complaint.decision_due_on = clock.extended_due(calendar, complaint.decision_due_on)
    elif to == "mediating" and body.testing_from is not None and body.testing_to is not None:
        # art. 20: testing time does not count in the mediation period.
        complaint.testing_periods = [
            *complaint.testing_periods,
            {"from": body.testing_from.isoformat(), "to": body.testing_to.isoformat()},
        ]
        _rewind_mediation(complaint, calendar)
    else:
        _apply(complaint, to, on, body, calendar)
    await new_version(session, actor, complaint, f"complaint.{to}", before, body.substantiated, on)
    return complaint


async def new_version(
    session: AsyncSession,
    actor: Principal,
    complaint: Complaint,
    action: str,
    before: dict[str, Any],
    substantiated: bool | None = None,
    on: dt.date | None = None,
) -> None:
    """The case's next version (numbered, never an edit of the last one), its
    substantiation set when given (on `on`), written through the journal."""
    complaint.version += 1
    complaint.updated_at = await db_now(session)
    if substantiated is not None:
        complaint.substantiated = substantiated
        complaint.substantiated_on = on if substantiated else None
        complaint.substantiated_recorded_at = complaint.updated_at if substantiated else None
    await COMPLAINT.save(session, actor, complaint, action, before=before)


def _rewind_mediation(complaint: Complaint, calendar: Any) -> None:
    assert complaint.accepted_on is not None
    complaint.mediation_due_on = clock.mediation_due(
        calendar, complaint.accepted_on, _periods(complaint)
    )


def _apply(
    complaint: Complaint, to: str, on: dt.date, body: TransitionCreate, calendar: Any
) -> None:
    if complaint.status == "received":
        complaint.decided_on = on
    if to == "accepted":
        complaint.accepted_on = on
        _rewind_mediation(complaint, calendar)
    if to in ("rejected", "terminated"):
        complaint.outcome_reason = body.reason
    elif body.note is not None:
        complaint.outcome_reason = body.note
    if clock.is_final(complaint.kind, to):
        complaint.closed_on = on
    complaint.status = to


async def end_expired_mediations(session: AsyncSession, on: dt.date) -> int:
    """art. 21 (5): mediation without agreement ends by itself after 45 working days."""
    ids = (
        await session.scalars(
            select(Complaint.id).where(
                Complaint.status.in_(("accepted", "mediating")),
                Complaint.mediation_due_on < on,
            )
        )
    ).all()
    for id in ids:
        complaint = await locked(session, id)
        assert complaint.mediation_due_on is not None
        body = TransitionCreate(to="terminated", reason="time_limit")
        await transition(
            session,
            SYSTEM,
            complaint.id,
            body.model_copy(update={"on": complaint.mediation_due_on}),
        )
    return len(ids)
