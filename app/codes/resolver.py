"""The public resolver at `/01/…` (SPEC §6) and its feedback form.

The path is parsed from the raw (percent-encoded) request path, and an item
serial's tag is checked before anything touches the database: a forged code
costs one HMAC. Anonymous callers are rate limited (keys are not).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import orjson
import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.auth.dependencies import Idempotent, rate_limit
from app.codes import feedback, linkset, pages, resolution
from app.codes.context import CodeSecret, agent_class, request_client_hash
from app.codes.digital_link import DigitalLinkPath, InvalidDigitalLink, parse_path
from app.codes.negotiation import wants_json, wants_linkset
from app.codes.schemas import FeedbackCreate, FeedbackOut
from app.codes.serials import verify_serial
from app.core.database import DbSession, ReadSession
from app.core.errors import NotFound, Unprocessable, field_name, invalid, is_unavailable
from app.core.idempotency import Created
from app.core.routing import AutoCommitRoute, responses
from app.core.settings import AppSettings, Settings

router = APIRouter(tags=["resolver"], route_class=AutoCommitRoute)
log = structlog.get_logger("qcr.resolver")

CODE_PATH = "/01/{code:path}"
FEEDBACK_SUFFIX = "/feedback"
MAX_FEEDBACK_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}

ResolverLimit = Depends(rate_limit("resolver", lambda s: s.rate_limit_resolver))
FeedbackLimit = Depends(rate_limit("feedback", lambda s: s.rate_limit_feedback))

CodeParam = Annotated[
    str,
    Path(
        description="`{gtin}`, `{gtin}/10/{lot}` or `{gtin}/10/{lot}/21/{serial}` "
        "(lot and serial percent-encoded)",
        examples=["06901234567892/10/L2026-11/21/PGX7VNTREP7KUZQQOZUW"],
    ),
]
FormatParam = Annotated[
    Literal["json", "html"] | None, Query(alias="format", description="override `Accept`")
]
LinkTypeParam = Annotated[
    str | None,
    Query(
        alias="linkType",
        max_length=200,
        description="`linkset` (or `all`), `gs1:pip` (default), `gs1:recallStatus`, "
        "`gs1:certificationInfo`, `gs1:review`",
    ),
]

_RESOLVER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the code's page (HTML), its data (JSON) or its linkset",
        "content": {
            "text/html": {},
            "application/json": {},
            "application/linkset+json": {},
        },
    },
    304: {"description": "not modified (If-None-Match)"},
    307: {"description": "HTML request for one link type: redirect to that part of the page"},
    404: {
        "description": "not a genuine code: forged, altered or never issued",
        "content": {"text/html": {}, "application/problem+json": {}},
    },
    **responses(401, 422, 429),
}


def _code(path: str) -> DigitalLinkPath | None:
    try:
        return parse_path(path)
    except InvalidDigitalLink:
        return None


def _genuine(code: DigitalLinkPath | None, secret: bytes) -> bool:
    """The serial's keyed tag holds (no database involved)."""
    if code is None:
        return False
    if code.serial is None:
        return True
    assert code.lot is not None
    return verify_serial(secret, code.gtin14, code.lot, code.serial)


def _anchor(resolved: resolution.Resolved) -> str:
    doc = resolved.document
    level = doc["item"] or doc["batch"] or doc["product"]
    return str(level["uri"])


async def resolve_code(
    request: Request,
    code: CodeParam,
    session: ReadSession,
    primary: DbSession,
    settings: AppSettings,
    secret: CodeSecret,
    format_: FormatParam = None,
    link_type: LinkTypeParam = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Resolve a GS1 Digital Link: product, producer and credit, batch, inspections,
    ongoing recalls first, item scans, feedback. JSON for `Accept: application/json`
    or `?format=json`; the linkset for `?linkType=linkset`; else a Chinese page."""
    html = not wants_json(format_, accept)
    path = pages.raw_path(request)
    parsed = _code(path)
    if parsed is None or not _genuine(parsed, secret):
        return pages.not_genuine(request, html=html, detail="this code was not issued here")
    threshold = settings.suspicious_scan_threshold
    try:
        resolved = await resolution.resolve(
            session,
            parsed,
            base=settings.public_base_url,
            threshold=threshold,
            store=not request.app.state.database.has_replica,
            pool=request.app.state.database.fast_pool,
        )
    except resolution.UnknownCode:
        return pages.not_genuine(request, html=html, detail="no such code is registered")
    anchor = _anchor(resolved)
    headers = pages.base_headers(anchor)
    wanted = linkset.normalise(link_type)
    if wanted == linkset.LINKSET or (link_type is None and wants_linkset(accept)):
        body = pages.json_body(linkset.build(anchor))
        return pages.respond(request, body, linkset.MEDIA_TYPE, headers)
    if wanted is not None:
        if html:
            location = f"{pages.self_reference(path)}#{linkset.SECTIONS[wanted]}"
            return Response(status_code=307, headers=headers | {"Location": location})
        body = pages.json_body(linkset.part(wanted, anchor, resolved.document))
        return pages.respond(request, body, "application/json", headers)
    if resolved.item_id is not None and request.method == "GET":
        try:
            await resolution.record_scan(  # a write: on the primary
                primary,
                resolved,
                client_hash=request_client_hash(request),
                agent=agent_class(request.headers.get("user-agent")),
                threshold=threshold,
                pool=request.app.state.database.fast_write_pool,
            )
        except Exception as exc:
            # With the primary down, a shopper still learns whether the product is
            # recalled (read from the replica); only this scan goes uncounted.
            if not is_unavailable(exc):
                raise
            log.warning("scan_not_recorded", reason="primary database unavailable")
            await primary.rollback()
    if not html:
        return pages.respond(
            request, pages.json_body(resolved.document), "application/json", headers
        )
    return pages.respond(request, _page(resolved, path, settings), "text/html", headers)


def _page(resolved: resolution.Resolved, path: str, settings: Settings) -> bytes:
    item = resolved.document["item"]
    here = pages.self_reference(path)
    return pages.html_body(
        "codes/resolver.html",
        doc=resolved.document,
        threshold=settings.suspicious_scan_threshold,
        first_scanned=resolution.first_scan_local(
            item["first_scanned_at"] if item else None, settings.zone
        ),
        form_action=f"{here}{FEEDBACK_SUFFIX}",
        linkset_href=f"{here}?linkType=linkset",
    )


router.add_api_route(
    CODE_PATH,
    resolve_code,
    methods=["GET"],
    operation_id="resolve_code",
    response_class=Response,
    responses=_RESOLVER_RESPONSES,
    dependencies=[ResolverLimit],
)
router.add_api_route(
    CODE_PATH,
    resolve_code,
    methods=["HEAD"],
    operation_id="resolve_code_head",
    response_class=Response,
    responses=_RESOLVER_RESPONSES,
    dependencies=[ResolverLimit],
    summary="Resolve Code (headers only)",
)


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FEEDBACK_BYTES:
        raise invalid("body", f"the body exceeds the bound of {MAX_FEEDBACK_BYTES} bytes")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FEEDBACK_BYTES:
            raise invalid("body", f"the body exceeds the bound of {MAX_FEEDBACK_BYTES} bytes")
    return data


def _feedback_data(content_type: str, data: bytes) -> FeedbackCreate:
    if content_type.startswith("application/json"):
        try:
            value: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise invalid("body", "is not valid JSON") from None
    elif content_type.startswith("application/x-www-form-urlencoded"):
        try:
            pairs = parse_qsl(
                data.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=10,
                strict_parsing=False,
            )
        except (UnicodeDecodeError, ValueError):
            raise invalid("body", "is not a valid UTF-8 form of at most 10 fields") from None
        value = dict(pairs)
    else:
        raise invalid("body", "send application/json or an application/x-www-form-urlencoded form")
    try:
        return FeedbackCreate.model_validate(value)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


@router.post(
    CODE_PATH,
    status_code=201,
    response_class=Response,
    dependencies=[FeedbackLimit],
    responses={
        201: {
            "model": FeedbackOut,
            "description": "stored: the feedback (JSON) or a thank-you page (form)",
            "content": {"text/html": {}},
        },
        404: {"description": "not a genuine code, or not a `…/feedback` path"},
        **responses(401, 422, 429),
    },
)
async def post_feedback(
    request: Request,
    code: CodeParam,
    session: DbSession,
    secret: CodeSecret,
    idempotency: Idempotent,
) -> Response:
    """Anonymous rating (1-5), comment (≤ 500), complaint flag and private contact, at
    `{code}/feedback`: from the page's form (then a thank-you page) or as JSON."""
    path = pages.raw_path(request)
    if not path.endswith(FEEDBACK_SUFFIX):
        raise NotFound("feedback is posted to the code's URI followed by /feedback")
    content_type = request.headers.get("content-type", "").lower()
    html = not content_type.startswith("application/json")
    code_path = path.removesuffix(FEEDBACK_SUFFIX)
    parsed = _code(code_path)
    if parsed is None or not _genuine(parsed, secret):
        return pages.not_genuine(request, html=html, detail="this code was not issued here")

    async def make() -> Created | Response:
        data = _feedback_data(content_type, await _body(request))
        target = await feedback.find_target(session, parsed)
        if target is None:
            return pages.not_genuine(request, html=False, detail="no such code is registered")
        view = await feedback.create(session, target, data, request_client_hash(request))
        return Created(view, location=f"/v1/feedback/{view.id}")

    if not html:
        return await idempotency.create(make)
    try:
        data = _feedback_data(content_type, await _body(request))
    except (RequestValidationError, Unprocessable) as exc:
        return _invalid_form(exc, code_path)
    target = await feedback.find_target(session, parsed)
    if target is None:
        return pages.not_genuine(request, html=True, detail="no such code is registered")
    view = await feedback.create(session, target, data, request_client_hash(request))
    return _thanks(view, data, code_path)


def _thanks(view: FeedbackOut, data: FeedbackCreate, code_path: str) -> Response:
    body = pages.html_body(
        "codes/feedback_thanks.html",
        product_name=view.product_name,
        complaint=view.complaint,
        contact_given=data.contact is not None,
        back_href=_back(code_path),
    )
    return Response(body, status_code=201, media_type="text/html", headers=NO_STORE)


def _invalid_form(exc: RequestValidationError | Unprocessable, code_path: str) -> Response:
    """The form's errors as a page (a form post gets HTML back, not problem+json)."""
    if isinstance(exc, Unprocessable):
        errors = exc.errors or [{"field": "body", "message": exc.detail}]
    else:
        errors = [
            {"field": field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
    body = pages.html_body("codes/feedback_invalid.html", errors=errors, back_href=_back(code_path))
    return Response(body, status_code=422, media_type="text/html", headers=NO_STORE)


def _back(code_path: str) -> str:
    """From `{code}/feedback` back to `{code}`, relative (see pages.self_reference)."""
    return "../" + code_path.rsplit("/", 1)[-1]
