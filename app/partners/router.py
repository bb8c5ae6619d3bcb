"""The partners API (SPEC §11): measures, subscriptions, acknowledgements."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import Idempotent, Partner, Regulator
from app.core.database import DbSession, PrimaryRead, ReadSession
from app.core.errors import invalid
from app.core.idempotency import Created
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.routing import AutoCommitRoute, created, responses
from app.core.settings import AppSettings, Settings
from app.partners import acknowledgements, measures, subscriptions
from app.partners.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    MeasurePublic,
    MeasureWrite,
    ReplayResult,
    SubscriptionCreate,
    SubscriptionNoticePublic,
    SubscriptionPublic,
    SubscriptionWithSecret,
    Unacknowledged,
)
from app.partners.targets import TargetRules

router = APIRouter(tags=["partners"], route_class=AutoCommitRoute)
MAX_SEQ = 2**63 - 1


def _rules(settings: Settings) -> TargetRules:
    return TargetRules(settings.webhook_allow_private, settings.webhook_allow_http)


def _uuid_cursor(cursor: str | None) -> uuid.UUID | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    try:
        return uuid.UUID(str(key[0]))
    except ValueError:
        raise invalid("cursor", "is not a cursor this service issued") from None


def _page(items: list[Any], limit: int, key: Any) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor([str(key(items[-1]))]) if more else None}


# -- measures -----------------------------------------------------------------


@router.get("/v1/measures", response_model=Page[MeasurePublic], responses=responses(422))
async def list_measures(
    session: ReadSession,
    target_list: Annotated[Literal["red", "black"] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The published catalogue of rewards and punishments (奖惩措施清单)."""
    found = await measures.page(
        session, target_list=target_list, after=_uuid_cursor(cursor), limit=limit + 1
    )
    views = [MeasurePublic.model_validate(m) for m in found]
    return _page(views, limit, lambda m: m.id)


@router.get(
    "/v1/measures/unacknowledged",
    response_model=Page[Unacknowledged],
    responses=responses(401, 403, 422),
)
async def list_unacknowledged(
    session: ReadSession, _: Regulator, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
) -> dict[str, Any]:
    """Exits (`list.exited`) that a subscribed partner has not acknowledged with a
    `lifted` within 1 working day, oldest first."""
    key = decode_cursor(cursor, 2)
    after = None
    if key is not None:
        try:
            after = (int(key[0]), uuid.UUID(str(key[1])))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
    items, next_key = await acknowledgements.unacknowledged(session, after=after, limit=limit)
    cursor_out = encode_cursor([next_key[0], str(next_key[1])]) if next_key else None
    return {"items": items, "next_cursor": cursor_out}


@router.get("/v1/measures/{id}", response_model=MeasurePublic, responses=responses(404, 422))
async def get_measure(id: uuid.UUID, session: ReadSession) -> Any:
    """One measure of the catalogue."""
    return await measures.find(session, id)


@router.post(
    "/v1/measures",
    **created(MeasurePublic, 401, 403, 422),
)
async def create_measure(
    body: MeasureWrite, session: DbSession, principal: Regulator, idempotency: Idempotent
) -> Response:
    """Add a measure to the catalogue (audited)."""

    async def make() -> Created:
        measure = await measures.create(session, principal, body)
        view = MeasurePublic.model_validate(measure)
        return Created(view, location=f"/v1/measures/{measure.id}")

    return await idempotency.create(make)


@router.put(
    "/v1/measures/{id}",
    response_model=MeasurePublic,
    responses=responses(401, 403, 404, 422),
)
async def replace_measure(
    id: uuid.UUID, body: MeasureWrite, session: DbSession, principal: Regulator
) -> Any:
    """Change a measure (audited: the entry keeps the previous text)."""
    return await measures.replace(session, principal, id, body)


@router.post(
    "/v1/measures/{id}/applications",
    **created(ApplicationPublic, 401, 403, 404, 422),
)
async def record_application(
    id: uuid.UUID,
    body: ApplicationCreate,
    session: DbSession,
    principal: Partner,
    idempotency: Idempotent,
) -> Response:
    """A partner reports that it applied or lifted a catalogue measure for an organization."""

    async def make() -> Created:
        application = await acknowledgements.record(session, principal, id, body)
        view = ApplicationPublic.model_validate(application)
        return Created(view, location=f"/v1/measures/{id}/applications/{application.id}")

    return await idempotency.create(make)


# -- subscriptions ------------------------------------------------------------


@router.post(
    "/v1/subscriptions",
    **created(
        SubscriptionWithSecret, 401, 403, 409, 422, description="Created; the secret is shown once"
    ),
)
async def create_subscription(
    body: SubscriptionCreate,
    settings: AppSettings,
    session: DbSession,
    principal: Partner,
    idempotency: Idempotent,
) -> Response:
    """Subscribe an HTTPS endpoint to events (CloudEvents, Standard Webhooks signatures)."""

    async def make() -> Created:
        sub = await subscriptions.create(session, principal, body, _rules(settings))
        view = SubscriptionWithSecret.model_validate(sub)
        return Created(view, location=f"/v1/subscriptions/{sub.id}")

    return await idempotency.create(make)


@router.get(
    "/v1/subscriptions",
    response_model=Page[SubscriptionPublic],
    responses=responses(401, 403, 422),
)
async def list_subscriptions(
    session: PrimaryRead,
    principal: Partner,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The caller's subscriptions (regulators: all)."""
    found = await subscriptions.page(
        session, principal, after=_uuid_cursor(cursor), limit=limit + 1
    )
    views = [SubscriptionPublic.model_validate(s) for s in found]
    return _page(views, limit, lambda s: s.id)


@router.get(
    "/v1/subscriptions/{id}",
    response_model=SubscriptionPublic,
    responses=responses(401, 403, 404, 422),
)
async def get_subscription(id: uuid.UUID, session: PrimaryRead, principal: Partner) -> Any:
    """One subscription (never its secret)."""
    return await subscriptions.find(session, principal, id)


@router.delete(
    "/v1/subscriptions/{id}",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422),
)
async def delete_subscription(id: uuid.UUID, session: DbSession, principal: Partner) -> Response:
    """Stop sending to this endpoint, for good."""
    await subscriptions.delete(session, principal, id)
    return Response(status_code=204)


@router.post(
    "/v1/subscriptions/{id}/enable",
    response_model=SubscriptionPublic,
    responses=responses(401, 403, 404, 422),
)
async def enable_subscription(
    id: uuid.UUID, settings: AppSettings, session: DbSession, principal: Partner
) -> Any:
    """Enable a disabled endpoint again (its URL is checked again)."""
    return await subscriptions.enable(session, principal, id, _rules(settings))


@router.post(
    "/v1/subscriptions/{id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    responses=responses(401, 403, 404, 422),
)
async def rotate_secret(id: uuid.UUID, session: DbSession, principal: Partner) -> Any:
    """A new signing secret, shown once; the old one stays valid for 24 hours."""
    return await subscriptions.rotate_secret(session, principal, id)


@router.post(
    "/v1/subscriptions/{id}/replay",
    response_model=ReplayResult,
    responses=responses(401, 403, 404, 422),
)
async def replay(
    id: uuid.UUID,
    session: DbSession,
    principal: Partner,
    from_seq: Annotated[int, Query(ge=0, le=MAX_SEQ, description="change feed `seq`")],
) -> ReplayResult:
    """Send again every event of the subscription's types from `from_seq` on (at most
    10,000 a call; the same `webhook-id` as before)."""
    count = await subscriptions.replay(session, principal, id, from_seq)
    return ReplayResult(subscription_id=id, from_seq=from_seq, requeued=count)


@router.get(
    "/v1/subscriptions/{id}/notices",
    response_model=Page[SubscriptionNoticePublic],
    responses=responses(401, 403, 404, 422),
)
async def list_notices(
    id: uuid.UUID,
    session: PrimaryRead,
    principal: Partner,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The subscription's own feed: disabled, enabled, secret rotated, replays."""
    key = decode_cursor(cursor, 1)
    after = key[0] if key is not None and isinstance(key[0], int) else 0
    found = await subscriptions.notices(session, principal, id, after=after, limit=limit + 1)
    views = [SubscriptionNoticePublic.model_validate(n) for n in found]
    more = len(views) > limit
    views = views[:limit]
    return {"items": views, "next_cursor": encode_cursor([views[-1].id]) if more else None}
