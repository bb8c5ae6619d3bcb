"""Authentication as typed dependencies: an endpoint without one is public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import keys
from app.core.database import DbSession
from app.core.errors import Forbidden, Unauthorized
from app.core.idempotency import ANONYMOUS_SCOPE, Idempotency, canonical_body, fingerprint
from app.core.principal import Principal, Role
from app.core.ratelimit import LIMIT_CHECKS, client_id, limiter_of
from app.core.settings import Settings, settings_of

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer qcr_…`")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qcr"'}


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
        return admit(principal, allowed)

    ROLE_CHECKS[check] = frozenset(allowed)
    return check


def admit(principal: Principal, allowed: Iterable[Role]) -> Principal:
    """The principal if its role is allowed: else 401 (anonymous) or 403."""
    if principal.is_anonymous:
        raise Unauthorized("an API key is required", headers=_CHALLENGE)
    if principal.role not in allowed:
        raise Forbidden(f"the {principal.role.value} role may not do this")
    return principal


async def admitted(request: Request, check: Callable[..., Any]) -> Principal:
    """The caller, as the `require(...)` check `check` admits it: for hot routes,
    which list the check among their dependencies (so that the OpenAPI document
    names its roles) but run no dependency."""
    return admit(await keys.principal_of(request), ROLE_CHECKS[check])


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
        await charge(request, scope, rate)

    LIMIT_CHECKS.add(check)
    return check


async def charge(request: Request, scope: str, rate: Callable[[Settings], str]) -> None:
    """Count one anonymous request of `scope` (429 with Retry-After once over the limit);
    hot routes call it themselves, once, the others through `rate_limit`."""
    limiter = limiter_of(request.app)
    await limiter.hit(scope, rate(settings_of(request.app)), client_id(request))


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
    """The request's Idempotency-Key, scoped to the caller's API key (without a
    key, nothing is remembered and nothing is fingerprinted)."""
    print_ = ""
    if idempotency_key:
        body = await canonical_body(request.headers, await request.body())
        query = list(request.query_params.multi_items())
        print_ = fingerprint(request.method, request.url.path, query, body)
    return Idempotency(session, principal.key_id or ANONYMOUS_SCOPE, idempotency_key, print_)


Idempotent = Annotated[Idempotency, Depends(idempotency)]
