"""`/v1/complaints`: receive (anyone; anonymous callers rate limited like
feedback), read (regulators; an enterprise its own, without the complainant),
move along the clocks (regulators), and the figures of art. 34."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.auth.dependencies import (
    Caller,
    EnterpriseOrRegulator,
    Idempotent,
    Regulator,
    rate_limit,
)
from app.codes.context import CodeSecret, request_client_hash, request_client_net
from app.codes.negotiation import wants_json
from app.complaints import pages, queries, service
from app.complaints.schemas import (
    ComplaintCreate,
    ComplaintOut,
    ComplaintPrivileged,
    ComplaintStats,
    Kind,
    Status,
    TransitionCreate,
)
from app.core.bodylimit import json_or_form, read_bounded
from app.core.database import DbSession, ReadSession
from app.core.dates import IsoDate
from app.core.errors import Forbidden, Unprocessable, field_name, invalid
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.principal import SYSTEM
from app.core.routing import AutoCommitRoute, responses
from app.organizations.types import Uscc

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], route_class=AutoCommitRoute)

MAX_BODY = 16 * 1024
ComplaintLimit = Depends(rate_limit("complaints", lambda s: s.rate_limit_feedback))
FORM = "application/x-www-form-urlencoded"
FORM_FIELDS = ("kind", "gtin", "lot", "serial", "uscc", "category", "description")


def counted_client(request: Request) -> bytes:
    """The anonymous filer as the signals count it (SPEC §10): one client per
    IPv4 address, one per /48 for IPv6 (a household or small site's whole prefix)."""
    return request_client_net(request) or request_client_hash(request)


PERSON_FIELDS = ("name", "phone", "address")
BLANK = {"type": "string", "pattern": r"^\s*$"}


def form_values(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The resolver page's form as the JSON body it stands for (empty fields absent);
    a field the form does not have is a 422 naming it, as in JSON."""
    known = {*FORM_FIELDS, *(f"complainant_{k}" for k in PERSON_FIELDS)}
    if unknown := sorted({k for k, _ in pairs} - known):
        raise invalid(unknown[0], "is not a field of this form")
    fields = {k: v.strip() for k, v in pairs if v.strip()}
    value: dict[str, Any] = {k: fields[k] for k in FORM_FIELDS if k in fields}
    person = {k: fields.get(f"complainant_{k}") for k in PERSON_FIELDS}
    if any(person.values()):
        value["complainant"] = {k: v or "" for k, v in person.items()}
    return value


def body_schemas() -> dict[str, Any]:
    """The JSON body and the resolver page's form (flat, text only, a blank optional
    field absent), each self-contained: no `$defs`, which a document has no place for."""
    schema = ComplaintCreate.model_json_schema()
    person = schema.pop("$defs")["Complainant"]
    properties = schema["properties"]
    properties["complainant"]["anyOf"][0] = person
    form_fields = {k: properties[k] for k in FORM_FIELDS} | {
        f"complainant_{k}": person["properties"][k] for k in PERSON_FIELDS
    }
    required = set(schema["required"])
    form = {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(required & set(FORM_FIELDS)),
        "properties": {
            name: field if name in required else {"anyOf": [_text(field), BLANK]}
            for name, field in form_fields.items()
        },
    }
    return {"application/json": {"schema": schema}, FORM: {"schema": form}}


def _text(field: dict[str, Any]) -> dict[str, Any]:
    """The field's text form (a form has no null)."""
    texts = [b for b in field.get("anyOf", [field]) if b.get("type") != "null"]
    return {k: v for k, v in texts[0].items() if k not in ("default", "title")}


def parse_body(content_type: str, data: bytes) -> ComplaintCreate:
    value = json_or_form(content_type, data, max_fields=20, form=form_values)
    try:
        return ComplaintCreate.model_validate(value)
    except ValidationError as exc:
        # Only locations and messages: the input (a phone number) is never echoed.
        raise RequestValidationError(
            [{"loc": ("body", *e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None


# A form post (a browser's, not asking for JSON) gets its 201 and 422 as pages.
_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ComplaintOut, "description": "received", "content": {"text/html": {}}},
    **responses(401, 422, 429),
}
_CREATE_RESPONSES[422]["content"]["text/html"] = {}


@router.post(
    "",
    status_code=201,
    response_class=Response,
    dependencies=[ComplaintLimit],
    openapi_extra={"requestBody": {"required": True, "content": body_schemas()}},
    responses=_CREATE_RESPONSES,
)
async def create_complaint(
    request: Request,
    session: DbSession,
    principal: Caller,
    secret: CodeSecret,
    idempotency: Idempotent,
) -> Response:
    """Receive a complaint (needs its complainant, art. 9) or a report (may be
    anonymous): JSON `{"kind", "gtin"?, "lot"?, "serial"?, "uscc"?, "category",
    "description", "complainant"?: {"name", "phone", "address"}, "channel"?,
    "authority"?}` or the resolver page's form; at least one of gtin or uscc. The
    answer never echoes the complainant."""
    content_type = request.headers.get("content-type", "").lower()
    # A browser's form gets pages back; a client that asks for JSON gets JSON.
    html = content_type.startswith(FORM) and not wants_json(None, request.headers.get("accept"))
    if not html and (replay := await idempotency.replay()) is not None:
        return replay
    try:
        data = parse_body(content_type, await read_bounded(request, MAX_BODY))
        source = "regulator" if principal.is_regulator else principal.role.value
        if principal.is_anonymous:
            source = "resolver"  # the resolver page's form, or an anonymous JSON client
        complaint = await service.receive(
            session,
            principal,
            data,
            secret=secret,
            client_hash=counted_client(request) if principal.is_anonymous else None,
            source=source,
        )
    except (RequestValidationError, Unprocessable) as exc:
        if not html:
            raise
        return pages.invalid_form(_errors(exc))
    view = await queries.one(session, SYSTEM, complaint.id)
    fields = ComplaintOut.model_fields
    out = ComplaintOut(**{k: v for k, v in view if k in fields})  # never the complainant
    if html:
        return pages.thanks(out)
    return await idempotency.respond(out, location=f"/v1/complaints/{out.id}")


def _errors(exc: RequestValidationError | Unprocessable) -> list[dict[str, str]]:
    if isinstance(exc, Unprocessable):
        return exc.errors or [{"field": "body", "message": exc.detail}]
    return [
        {"field": field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]


@router.get("/stats", responses=responses(422))
async def complaint_stats(
    session: ReadSession,
    authority: Annotated[str | None, Query(max_length=100)] = None,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: Annotated[IsoDate | None, Query()] = None,
) -> ComplaintStats:
    """Received, handled and closed counts and rates (art. 34; no personal data):
    `handled_rate` = complaints decided by their due day ÷ received, `closed_rate` =
    complaints in a final status ÷ accepted (null when nothing to divide by)."""
    if from_ is not None and to is not None and to < from_:
        raise invalid("to", "is before from")
    return await queries.stats(session, authority, from_, to)


@router.get("", responses=responses(401, 403, 422))
async def list_complaints(
    session: ReadSession,
    principal: EnterpriseOrRegulator,
    uscc: Annotated[Uscc | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ComplaintPrivileged | ComplaintOut]:
    """Complaints and reports, oldest first: regulators all (with the complainant),
    an enterprise key its own organization's (without)."""
    if uscc is not None and not principal.is_regulator and not principal.owns(uscc):
        raise Forbidden("an enterprise key may only read its own organization's complaints")
    after = None
    if (key := decode_cursor(cursor, 2)) is not None:
        try:
            after = (dt.date.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
        except ValueError:
            raise invalid("cursor", "is not a cursor this service issued") from None
    items = await queries.page(
        session,
        principal,
        uscc=uscc,
        status=status,
        overdue=overdue,
        kind=kind,
        after=after,
        limit=limit,
    )
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = encode_cursor([items[-1].received_on.isoformat(), str(items[-1].id)])
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{id}", responses=responses(401, 403, 404, 422))
async def get_complaint(
    id: uuid.UUID, session: ReadSession, principal: EnterpriseOrRegulator
) -> ComplaintPrivileged | ComplaintOut:
    """One case (an enterprise key: its own organization's, without the complainant)."""
    return await queries.one(session, principal, id)


@router.post("/{id}/transitions", responses=responses(401, 403, 404, 409, 422))
async def move_complaint(
    id: uuid.UUID, body: TransitionCreate, session: DbSession, principal: Regulator
) -> ComplaintPrivileged | ComplaintOut:
    """Accept or reject (art. 14, 15), mediate (testing: art. 20), resolve or terminate
    (art. 21); verify, extend once, open a case or close a report. A move the status
    does not allow is 409."""
    complaint = await service.transition(session, principal, id, body)
    return await queries.one(session, principal, complaint.id)
