"""Authentication as typed dependencies: an endpoint without one is public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import keys
from app.core.errors import Forbidden, Unauthorized
from app.core.principal import Principal, Role

_CHALLENGE = keys.CHALLENGE

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer qcr_…`")


async def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; anonymous without an Authorization header, 401 for a bad key.
    (`_bearer` declares the scheme in the OpenAPI document; app/auth/keys.py reads it.)"""
    return await keys.principal_of(request)


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
