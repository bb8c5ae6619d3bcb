from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from app.auth.dependencies import Caller, Regulator
from app.core.database import DbSession, PrimaryRead
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.principal import Principal
from app.core.routing import AutoCommitRoute, responses
from app.organizations import service
from app.organizations.models import Organization
from app.organizations.schemas import (
    OrganizationPrivileged,
    OrganizationPublic,
    OrganizationWrite,
)
from app.organizations.types import CodePath, UsccPath

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], route_class=AutoCommitRoute)


def view(org: Organization, principal: Principal) -> OrganizationPublic:
    """The privileged view for regulators and the organization's own key, else public."""
    if principal.sees_private(org.uscc):
        return OrganizationPrivileged.model_validate(org)
    return OrganizationPublic.model_validate(org)


@router.put(
    "/{code}",
    status_code=200,
    responses={
        201: {"description": "Created", "model": OrganizationPrivileged},
        **responses(401, 403, 412, 422),
    },
)
async def put_organization(
    code: UsccPath,
    body: OrganizationWrite,
    session: DbSession,
    principal: Regulator,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> OrganizationPrivileged:
    """Create or update an organization (the path must hold the 18-character USCC)."""
    org, created = await service.upsert(session, principal, code, body, if_match=if_match)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/v1/organizations/{org.uscc}"
    response.headers["ETag"] = service.etag(org)
    return OrganizationPrivileged.model_validate(org)


@router.get("/{code}", responses=responses(401, 404, 422))
async def get_organization(
    code: CodePath, session: PrimaryRead, principal: Caller, response: Response
) -> OrganizationPrivileged | OrganizationPublic:
    """One organization by USCC or legacy organization code; the view depends on the role."""
    org = await service.find(session, code)
    response.headers["ETag"] = service.etag(org)
    return view(org, principal)


@router.get("", responses=responses(401, 422))
async def search_organizations(
    session: PrimaryRead,
    principal: Caller,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="name substring")
    ] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="GB/T 2260 division code or prefix")
    ] = None,
    grade: Annotated[
        Literal["AAA", "AA", "A", "B", "C", "D"] | None, Query(description="current credit grade")
    ] = None,
    a_level: Annotated[bool | None, Query(description="A-level (守信) or not")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[OrganizationPrivileged | OrganizationPublic]:
    """Search organizations by Chinese name substring and region, ordered by USCC."""
    key = decode_cursor(cursor, 1)
    statement = service.search_statement(
        q=q.strip() if q else None,
        region=region,
        after_uscc=str(key[0]) if key else None,
        limit=limit + 1,
        grade=grade,
        a_level=a_level,
    )
    rows = (await session.scalars(statement)).all()
    items = [view(org, principal) for org in rows[:limit]]
    next_cursor = encode_cursor([rows[limit - 1].uscc]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)
