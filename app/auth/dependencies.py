"""Authentication as typed dependencies: an endpoint without one is public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.core.database import ReadSession
from app.core.errors import Forbidden, Unauthorized
from app.core.principal import ANONYMOUS, Principal, Role

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer qcr_…`")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qcr"'}


async def get_principal(
    request: Request,
    session: ReadSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; anonymous without an Authorization header, 401 for a bad key."""
    if request.headers.get("authorization") and credentials is None:
        raise Unauthorized(
            "the Authorization header must be 'Bearer <api key>'", headers=_CHALLENGE
        )
    if credentials is None:
        return ANONYMOUS
    pool = request.app.state.database.fast_pool
    if pool is not None:
        principal = await service.authenticate_fast(pool, credentials.credentials)
    else:
        principal = await service.authenticate(session, credentials.credentials)
    if principal is None:
        raise Unauthorized("unknown or revoked API key", headers=_CHALLENGE)
    request.state.role = principal.role.value
    return principal


# Each `require(...)` check and the roles it admits: the OpenAPI document names
# them per operation (app/openapi.py), and operations without one are public.
ROLE_CHECKS: dict[Callable[..., Any], frozenset[Role]] = {}


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting the given roles (admin is always admitted)."""
    allowed = {Role.admin, *roles}

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.is_anonymous:
            raise Unauthorized("an API key is required", headers=_CHALLENGE)
        if principal.role not in allowed:
            raise Forbidden(f"the {principal.role.value} role may not do this")
        return principal

    ROLE_CHECKS[check] = frozenset(allowed)
    return check


Caller = Annotated[Principal, Depends(get_principal)]
AdminOnly = Annotated[Principal, Depends(require())]
Regulator = Annotated[Principal, Depends(require(Role.regulator))]
Partner = Annotated[Principal, Depends(require(Role.regulator, Role.partner))]
EnterpriseOrRegulator = Annotated[Principal, Depends(require(Role.regulator, Role.enterprise))]
