"""Organizations: create or update by USCC, find by either code, search by name."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.database import Reader, db_now, one_or_404
from app.core.errors import PreconditionFailed
from app.core.models import fields
from app.core.principal import Principal
from app.organizations import codes
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationPublic, OrganizationWrite

AUDITED_FIELDS = (
    "name",
    "address",
    "region_code",
    "industry_code",
    "legal_representative",
    "status",
)


def snapshot(org: Organization) -> dict[str, Any]:
    """The audited fields; the legal representative (personal data) only as
    SHA-256(salt ‖ value), the salt in the organization's own row (SPEC §7)."""
    data = {"uscc": org.uscc, "version": org.version} | fields(org, AUDITED_FIELDS)
    data["legal_representative"] = journal.private_digest(
        org.private_salt, org.legal_representative
    )
    return data


async def find(session: Reader, code: str, *, for_update: bool = False) -> Organization:
    """The organization holding a normalised USCC or organization code, else 404."""
    statement = _FIND[len(code) == 18, for_update]  # built locked where asked
    return await one_or_404(
        session, statement, f"no organization with code {code}", params={"code": code}
    )


def _find_statement(column: Any, for_update: bool) -> Select[Organization]:
    statement = select(Organization).where(column == bindparam("code"))
    return statement.with_for_update() if for_update else statement


# Built once per (by USCC?, for update?): building a statement per write cost more
# than running it.
_FIND = {
    (by_uscc, lock): _find_statement(Organization.uscc if by_uscc else Organization.org_code, lock)
    for by_uscc in (True, False)
    for lock in (True, False)
}


async def upsert(
    session: AsyncSession,
    actor: Principal,
    uscc: str,
    data: OrganizationWrite,
    *,
    if_match: str | None = None,
) -> tuple[Organization, bool]:
    """Create or update; returns the organization and whether it was created."""
    values = data.model_dump()
    values["region_code"] = values["region_code"] or codes.region_of(uscc)
    org = await session.scalar(
        select(Organization).where(Organization.uscc == uscc).with_for_update()
    )
    if org is None:
        org = Organization(
            uscc=uscc,
            org_code=codes.org_code_of(uscc),
            created_by=actor.key_id,
            private_salt=secrets.token_bytes(16),
        )
        for field, value in values.items():
            setattr(org, field, value)
        session.add(org)
        await session.flush()
        await session.refresh(org)
        await journal.record(
            session,
            actor,
            action="organization.create",
            entity="organization",
            entity_id=uscc,
            uscc=uscc,
            after=snapshot(org),
            event=("organization.created", public_data(org)),
        )
        return org, True
    if if_match is not None and if_match != etag(org):
        raise PreconditionFailed("the organization has changed: If-Match does not match its ETag")
    before = snapshot(org)
    if all(getattr(org, f) == v for f, v in values.items()):
        return org, False
    for field, value in values.items():
        setattr(org, field, value)
    org.version += 1
    org.updated_at = await db_now(session)
    await session.flush()
    await journal.record(
        session,
        actor,
        action="organization.update",
        entity="organization",
        entity_id=uscc,
        uscc=uscc,
        before=before,
        after=snapshot(org),
        event=("organization.updated", public_data(org)),
    )
    return org, False


def public_data(org: Organization) -> dict[str, Any]:
    """The public view's fields: what the change feed may carry."""
    return OrganizationPublic.model_validate(org).model_dump(mode="json")


def etag(org: Organization) -> str:
    return f'"org-{org.id}-{org.version}"'


def ngrams(query: str) -> list[str]:
    """The grams of a search string as `qcr_ngrams` indexes them (lower case):
    pairs of characters, or the character itself for a one-character query."""
    q = query.lower()
    if len(q) == 1:
        return [q]
    return sorted({q[i : i + 2] for i in range(len(q) - 1)})


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Narrows a search by current grade and A-level. Credit sits above organizations,
# so it registers this at start-up (app/wiring.py) rather than being imported here.
CreditFilter = Callable[[Select[Organization], str | None, bool | None], Select[Organization]]
_credit_filter: CreditFilter | None = None


def register_credit_filter(narrow: CreditFilter) -> None:
    global _credit_filter
    _credit_filter = narrow


def search_statement(
    *,
    q: str | None,
    region: str | None,
    after_uscc: str | None,
    limit: int,
    grade: str | None = None,
    a_level: bool | None = None,
) -> Select[Organization]:
    statement = select(Organization).order_by(Organization.uscc).limit(limit)
    if grade is not None or a_level is not None:
        if _credit_filter is None:
            raise RuntimeError("no credit filter: app.wiring.install_listeners() registers it")
        statement = _credit_filter(statement, grade, a_level)
    if q:
        statement = statement.where(
            func.qcr_ngrams(Organization.name).op("@>")(
                bindparam("grams", ngrams(q), type_=ARRAY(Text))
            ),
            Organization.name.ilike(f"%{_like_escape(q)}%", escape="\\"),
        )
    if region:
        statement = statement.where(Organization.region_code.startswith(region, autoescape=True))
    if after_uscc:
        statement = statement.where(Organization.uscc > after_uscc)
    return statement
