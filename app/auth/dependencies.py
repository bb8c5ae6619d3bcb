"""Authentication as typed dependencies: an endpoint without one is public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.core.database import DbSession, HotReads, ReadSession
from app.core.errors import Forbidden, Unauthorized
from app.core.idempotency import ANONYMOUS_SCOPE, Idempotency, fingerprint
from app.core.principal import ANONYMOUS, Principal, Role
from app.core.ratelimit import client_id, limiter_of
from app.core.settings import Settings, settings_of

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer qcr_…`")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qcr"'}


async def get_principal(
    request: Request,
    session: ReadSession,
    pool: HotReads,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; anonymous without an Authorization header, 401 for a bad key."""
    if request.headers.get("authorization") and credentials is None:
        raise Unauthorized(
            "the Authorization header must be 'Bearer <api key>'", headers=_CHALLENGE
        )
    if credentials is None:
        return ANONYMOUS
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
Regulator = Annotated[Principal, Depends(require(Role.regulator))]
Partner = Annotated[Principal, Depends(require(Role.regulator, Role.partner))]
EnterpriseOrRegulator = Annotated[Principal, Depends(require(Role.regulator, Role.enterprise))]


def rate_limit(
    scope: str, rate: Callable[[Settings], str]
) -> Callable[[Request, Principal], Awaitable[None]]:
    """A dependency limiting anonymous callers of `scope` to `rate(settings)`; keys are free."""

    async def check(request: Request, principal: Caller) -> None:
        if not principal.is_anonymous:
            return
        limiter = limiter_of(request.app)
        await limiter.hit(scope, rate(settings_of(request.app)), client_id(request))

    return check


async def idempotency(
    request: Request,
    session: DbSession,
    principal: Caller,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="repeat a POST safely: the same key and body return the first response",
        ),
    ] = None,
) -> Idempotency:
    """The request's Idempotency-Key, scoped to the caller's API key."""
    body = await request.body() if idempotency_key else b""
    return Idempotency(
        session,
        principal.key_id or ANONYMOUS_SCOPE,
        idempotency_key,
        fingerprint(request.method, request.url.path, body),
    )


Idempotent = Annotated[Idempotency, Depends(idempotency)]
