"""Consumer feedback: stored against the code's product, batch, item and producer;
read back by regulators (with the private contact) and the producer (without)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.auth.dependencies import EnterpriseOrRegulator
from app.codes.digital_link import DigitalLinkPath
from app.codes.models import Batch, Feedback, ItemCode, Product
from app.codes.schemas import FeedbackCreate, FeedbackOut, FeedbackPrivileged, Gtin
from app.core import fastpath
from app.core.database import PrimaryRead, db_now
from app.core.errors import Forbidden, NotFound, invalid
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.principal import ANONYMOUS, Principal
from app.core.routing import AutoCommitRoute, responses
from app.organizations import notify as organization_notify
from app.organizations.models import Organization
from app.organizations.types import Uscc

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], route_class=AutoCommitRoute)

TARGET = """
SELECT p.id AS product_id, p.name AS product_name, o.id AS organization_id, o.uscc,
       b.id AS batch_id, i.id AS item_id
FROM products p
JOIN organizations o ON o.id = p.organization_id
LEFT JOIN batches b ON b.product_id = p.id AND b.lot = $2::text
LEFT JOIN item_codes i ON i.batch_id = b.id AND i.serial = $3::text
WHERE p.gtin = $1::text
"""


@dataclass(frozen=True)
class Target:
    """What a feedback concerns, and whose product it is."""

    code: DigitalLinkPath
    product_id: uuid.UUID
    product_name: str
    organization_id: uuid.UUID
    uscc: str
    batch_id: uuid.UUID | None
    item_id: int | None


async def find_target(session: AsyncSession, code: DigitalLinkPath) -> Target | None:
    """The registered product, batch and item of a code, or None if any is unknown."""
    driver = await fastpath.driver(session)
    row = await driver.fetchrow(TARGET, code.gtin14, code.lot, code.serial)
    if row is None or (code.lot and row["batch_id"] is None):
        return None
    if code.serial and row["item_id"] is None:
        return None
    return Target(
        code=code,
        product_id=row["product_id"],
        product_name=row["product_name"],
        organization_id=row["organization_id"],
        uscc=row["uscc"],
        batch_id=row["batch_id"],
        item_id=row["item_id"],
    )


async def create(
    session: AsyncSession,
    target: Target,
    data: FeedbackCreate,
    client_hash: bytes,
    client_net: bytes | None = None,
) -> FeedbackOut:
    """Store one anonymous feedback; the audit entry leaves the contact out.
    `client_net`: an IPv6 client's /48 (app/codes/context.py), what the signals count."""
    feedback = Feedback(
        organization_id=target.organization_id,
        product_id=target.product_id,
        batch_id=target.batch_id,
        item_id=target.item_id,
        rating=data.rating,
        comment=data.comment,
        complaint=data.complaint,
        contact=data.contact,
        client_hash=client_hash,
        client_net=client_net,
        created_at=await db_now(session),
    )
    session.add(feedback)
    await session.flush()
    await organization_notify.changed(session, target.organization_id)  # the aggregate
    view = FeedbackOut(
        id=feedback.id,
        uscc=target.uscc,
        gtin=target.code.gtin14,
        product_name=target.product_name,
        lot=target.code.lot,
        serial=target.code.serial,
        rating=feedback.rating,
        comment=feedback.comment,
        complaint=feedback.complaint,
        created_at=feedback.created_at,
    )
    await journal.record(
        session,
        ANONYMOUS,
        action="feedback.create",
        entity="feedback",
        entity_id=str(feedback.id),
        uscc=target.uscc,
        after=view.model_dump(mode="json") | {"contact_given": data.contact is not None},
    )
    return view


def _statement() -> Select[Feedback, str, str, str, str | None, str | None]:
    return (
        select(Feedback, Organization.uscc, Product.gtin, Product.name, Batch.lot, ItemCode.serial)
        .join(Organization, Organization.id == Feedback.organization_id)
        .join(Product, Product.id == Feedback.product_id)
        .outerjoin(Batch, Batch.id == Feedback.batch_id)
        .outerjoin(ItemCode, ItemCode.id == Feedback.item_id)
    )


def _view(row: Any, principal: Principal) -> FeedbackOut:
    feedback: Feedback = row[0]
    values = {
        "id": feedback.id,
        "uscc": row[1],
        "gtin": row[2],
        "product_name": row[3],
        "lot": row[4],
        "serial": row[5],
        "rating": feedback.rating,
        "comment": feedback.comment,
        "complaint": feedback.complaint,
        "created_at": feedback.created_at,
    }
    # The contact is personal data given for the authorities' follow-up of a
    # complaint: regulators see it, the producer does not.
    if principal.is_regulator:
        return FeedbackPrivileged(**values, contact=feedback.contact)
    return FeedbackOut(**values)


def _scope(principal: Principal, uscc: str | None) -> str | None:
    if principal.is_regulator:
        return uscc
    if uscc is not None and not principal.owns(uscc):
        raise Forbidden("an enterprise key may only read its own organization's feedback")
    return principal.uscc or ""


@router.get("", responses=responses(401, 403, 422))
async def list_feedback(
    session: PrimaryRead,
    principal: EnterpriseOrRegulator,
    uscc: Annotated[Uscc | None, Query(max_length=64, description="the producer")] = None,
    complaint: Annotated[bool | None, Query(description="complaints only, or none")] = None,
    gtin: Annotated[Gtin | None, Query(description="one product")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[FeedbackPrivileged | FeedbackOut]:
    """Feedback and complaints, newest first: regulators all (with contact), an
    enterprise key its own organization's (without contact)."""
    statement = _statement().order_by(Feedback.created_at.desc(), Feedback.id.desc())
    if (scope := _scope(principal, uscc)) is not None:
        statement = statement.where(Organization.uscc == scope)
    if complaint is not None:
        statement = statement.where(Feedback.complaint.is_(complaint))
    if gtin is not None:
        statement = statement.where(Product.gtin == gtin)
    if (key := decode_cursor(cursor, 2)) is not None:
        try:
            after = (dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
        statement = statement.where(
            (Feedback.created_at < after[0])
            | ((Feedback.created_at == after[0]) & (Feedback.id < after[1]))
        )
    rows = (await session.execute(statement.limit(limit + 1))).all()
    items = [_view(row, principal) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{id}", responses=responses(401, 403, 404, 422))
async def get_feedback(
    id: uuid.UUID, session: PrimaryRead, principal: EnterpriseOrRegulator
) -> FeedbackPrivileged | FeedbackOut:
    """One feedback (an enterprise key: its own organization's only)."""
    row = (await session.execute(_statement().where(Feedback.id == id))).first()
    if row is None or not (principal.is_regulator or principal.owns(row[1])):
        raise NotFound(f"no feedback {id}")
    return _view(row, principal)
