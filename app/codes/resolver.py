"""The public resolver at `/01/…` (SPEC §6) and its feedback form.

The path is parsed from the raw (percent-encoded) request path, and an item
serial's tag is checked before anything touches the database: a forged code
costs one HMAC. Anonymous callers are rate limited (keys are not).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.auth import keys
from app.auth.dependencies import Idempotent, charge, rate_limit
from app.codes import digital_link, feedback, linkset, pages, resolution, scans
from app.codes.context import (
    CodeSecret,
    agent_class,
    loaded_code_secret,
    request_client_hash,
    request_client_net,
)
from app.codes.digital_link import DigitalLinkPath, InvalidDigitalLink, parse_path
from app.codes.negotiation import wants_json, wants_linkset
from app.codes.schemas import FeedbackCreate, FeedbackOut, ResolverOut
from app.codes.serials import verify_serial
from app.core import fastpath, hotroute
from app.core.bodylimit import json_or_form, read_bounded
from app.core.database import DbSession, database_of
from app.core.errors import (
    PROBLEM_JSON,
    MethodNotAllowed,
    NotFound,
    Unprocessable,
    field_name,
    invalid,
    is_unavailable,
)
from app.core.hotroute import OPTIONAL_KEY, HotRoute, path_parameter, query_parameter
from app.core.idempotency import Created
from app.core.routing import AutoCommitRoute, responses
from app.core.settings import Settings, settings_of

router = APIRouter(tags=["resolver"], route_class=AutoCommitRoute)
log = structlog.get_logger("qcr.resolver")

CODE_PATH = "/01/{code:path}"
FEEDBACK_SUFFIX = "/feedback"
MAX_FEEDBACK_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}

FeedbackLimit = Depends(rate_limit("feedback", lambda s: s.rate_limit_feedback))

CodeParam = Annotated[
    str,
    Path(
        description="`{gtin}`, `{gtin}/10/{lot}` or `{gtin}/10/{lot}/21/{serial}` "
        "(lot and serial percent-encoded)",
        examples=["06901234567892/10/L2026-11/21/PGX7VNTREP7KUZQQOZUW"],
    ),
]


_RESOLVER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ResolverOut,
        "description": "the code's data (JSON), its page (HTML) or its linkset",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/linkset+json": {"schema": {"type": "object"}},
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


def _format(request: Request) -> str | None:
    value = request.query_params.get("format")
    if value not in (None, "json", "html"):
        raise invalid("format", "must be json or html")
    return value


def _link_type(request: Request) -> str | None:
    value = request.query_params.get("linkType")
    if value is not None and len(value) > 200:
        raise invalid("linkType", "must be at most 200 characters")
    return value


async def resolve_code(request: Request) -> Response:
    """Resolve a GS1 Digital Link: product, producer and credit, batch, inspections,
    ongoing recalls first, item scans, feedback. JSON for `Accept: application/json`
    or `?format=json`; the linkset for `?linkType=linkset`; else a Chinese page."""
    principal = await keys.principal_of(request)
    if principal.is_anonymous:
        await charge(request, "resolver", lambda s: s.rate_limit_resolver)
    settings = settings_of(request.app)
    format_, link_type = _format(request), _link_type(request)
    accept = request.headers.get("accept")
    html = not wants_json(format_, accept)
    raw = pages.raw_path(request)
    path = _without_slash(raw)
    parsed = _code(path)
    if parsed is None and _is_feedback(path):
        raise MethodNotAllowed("feedback is posted", headers={"Allow": "POST, OPTIONS"})
    if parsed is None or not _genuine(parsed, loaded_code_secret(request)):
        return pages.not_genuine(request, html=html, detail="this code was not issued here")
    try:
        batch_doc = await _batch_document(request, parsed, settings)
    except resolution.UnknownCode:
        return pages.not_genuine(request, html=html, detail="no such code is registered")
    wanted = linkset.normalise(link_type)
    as_linkset = wanted == linkset.LINKSET or (link_type is None and wants_linkset(accept))
    item = None
    if parsed.serial is not None:
        # A scan is a GET of the page or its data; a linkset or one link type is not.
        record = request.method == "GET" and wanted is None and not as_linkset
        item = await _item(request, batch_doc, parsed, settings, record=record)
        if item is None:
            return pages.not_genuine(request, html=html, detail="no such code is registered")
    document = resolution.document(batch_doc.parts, item)
    levels = [
        (level, str(document[level]["uri"]))
        for level in ("item", "batch", "product")
        if document[level] is not None
    ]
    anchor = levels[0][1]
    headers = pages.base_headers(anchor)
    if as_linkset:
        body = pages.json_body(linkset.build(levels))
        return pages.respond(request, body, linkset.MEDIA_TYPE, headers)
    if wanted is not None:
        if html:  # to the target the linkset names, the query string passed on
            location = _passed_on(linkset.html_target(anchor, wanted), request)
            return Response(status_code=307, headers=headers | {"Location": location})
        body = pages.json_body(linkset.part(wanted, anchor, document))
        return pages.respond(request, body, "application/json", headers)
    if not html:
        return pages.respond(request, batch_doc.json(item), "application/json", headers)
    return pages.respond(request, _page(batch_doc, item, raw, settings), "text/html", headers)


def _is_feedback(path: str) -> bool:
    """`path` is a code's URI followed by `/feedback` (a lot "feedback" is a code:
    `/01/{gtin}/10/feedback`)."""
    return path.endswith(FEEDBACK_SUFFIX) and _code(path.removesuffix(FEEDBACK_SUFFIX)) is not None


def _without_slash(path: str) -> str:
    """A trailing slash is tolerated (GS1 Digital Link: SHOULD)."""
    return path[:-1] if path.endswith("/") and path.count("/") > 2 else path


def _passed_on(target: str, request: Request) -> str:
    """`target` with the request's query string, less `linkType` (GS1: a resolver
    SHALL pass the query string on), ahead of the target's fragment."""
    kept = [
        part
        for part in request.scope.get("query_string", b"").decode("latin-1").split("&")
        if part and part.split("=", 1)[0] != "linkType"
    ]
    if not kept:
        return target
    where, hash_, fragment = target.partition("#")
    joiner = "&" if "?" in where else "?"
    return f"{where}{joiner}{'&'.join(kept)}{hash_}{fragment}"


async def _batch_document(
    request: Request, code: DigitalLinkPath, settings: Settings
) -> resolution.BatchDocument:
    """From this process's cache, else one statement (then cached)."""
    cache = resolution.CACHE.of(request)
    key = (code.gtin14, code.lot)
    if cache is not None and (found := cache.get(key)) is not None:
        return found
    token = cache.begin() if cache is not None else 0
    database = database_of(request)

    def session() -> Any:
        return hotroute.request_session(request)

    if database.fast_pool is not None:
        loaded = await resolution.load(
            database.fast_pool,
            code,
            base=settings.public_base_url,
            session=session,
            store=not database.has_replica,
        )
    else:
        async with hotroute.read_session(request) as opened:
            driver = await fastpath.driver(opened)
            loaded = await resolution.load(
                driver, code, base=settings.public_base_url, session=session, store=True
            )
    if cache is not None:
        cache.put(key, loaded, (str(loaded.organization_id),), token)
    return loaded


async def _item(
    request: Request,
    batch_doc: resolution.BatchDocument,
    code: DigitalLinkPath,
    settings: Settings,
    *,
    record: bool,
) -> dict[str, Any] | None:
    """The item's part of the answer, this scan counted (SPEC §6 Freshness), or None
    for a serial that was never issued."""
    assert code.serial is not None and code.lot is not None
    database = database_of(request)
    buffer = scans.BUFFER.of(request)
    client = request_client_hash(request)
    agent = agent_class(request.headers.get("user-agent"))
    counted = record and agent != "bot"
    scan = functools.partial(
        scans.Scan,
        at=_now(),
        client_hash=client,
        agent=agent,
        client_net=request_client_net(request),
    )
    read = functools.partial(scans.read_item, batch_id=batch_doc.batch_id, serial=code.serial)
    if buffer is not None:  # a serving process: buffered, written within FLUSH_SECONDS
        row, unwritten, first_unwritten = await buffer.read_item(
            batch_doc.batch_id, code.serial, client
        )
        if row is None:
            return None
        shown = row["scan_count"] + unwritten + (1 if counted else 0)
        first = row["first_scanned_at"] or first_unwritten
        if record:
            buffer.add(scan(row["id"]))
    else:  # no buffer (tests, embedding): written at once, then read back
        try:
            async with _primary_driver(request) as driver, driver.transaction():
                # One transaction: the item stays locked from the write to the read
                # back, so the count read is this scan's own, not a later one's.
                row = await read(driver, client=client)
                if row is not None and record:
                    await scans.write(driver, [scan(row["id"])], settings.zone)
                    row = await read(driver, client=client)
        except Exception as exc:
            # With the primary down, a shopper still learns whether the product is
            # recalled (read from the replica); only this scan goes uncounted.
            if not (record and is_unavailable(exc) and database.has_replica):
                raise
            log.warning("scan_not_recorded", reason="primary database unavailable")
            async with hotroute.read_session(request) as opened:
                row = await read(await fastpath.driver(opened), client=client)
            counted = False
        if row is None:
            return None
        shown = row["scan_count"]
        first = row["first_scanned_at"]
    first = first or (_now() if counted else None)
    return {
        "serial": code.serial,
        "uri": digital_link.item_uri(
            settings.public_base_url, batch_doc.gtin, batch_doc.lot or "", code.serial
        ),
        "scan_count": shown,
        "first_scanned_at": first,
        "suspicious": row["other_clients"] + (1 if counted else 0)
        > settings.suspicious_scan_threshold,
    }


_PAGE_SLOTS = {"serial", "scan_count", "first_scanned", "form_action", "linkset_href"}


def _page(
    batch_doc: resolution.BatchDocument, item: dict[str, Any] | None, path: str, settings: Settings
) -> bytes:
    """The page, its links relative to `path` as sent (a trailing slash included):
    the batch's page rendered once per kind, the item's values and links filled in."""
    here = pages.self_reference(path)
    values = {
        "form_action": f"{here.removesuffix('/')}{FEEDBACK_SUFFIX}",
        "linkset_href": f"{here}?linkType=linkset",
    }
    if item is not None:
        first = resolution.first_scan_local(item["first_scanned_at"], settings.zone)
        values |= {
            "serial": item["serial"],
            "scan_count": str(item["scan_count"]),
            "first_scanned": first or "—",
        }
    suspicious = item is not None and item["suspicious"]
    kind = (item is not None, suspicious, settings.suspicious_scan_threshold)
    slotted = batch_doc.pages.get(kind)
    if slotted is None:
        held = (
            None
            if item is None
            else {
                "serial": pages.slot("serial"),
                "scan_count": pages.slot("scan_count"),
                "suspicious": suspicious,
            }
        )
        slotted = pages.Slotted.of(
            _render(batch_doc, held, settings, pages.slot), _PAGE_SLOTS, batch_doc.parts
        )
        if slotted is None:  # a mark in the data itself: rendered as it is, every time
            return _render(batch_doc, item, settings, values.__getitem__).encode()
        batch_doc.pages[kind] = slotted
    return slotted.fill(values)


def _render(
    batch_doc: resolution.BatchDocument,
    item: dict[str, Any] | None,
    settings: Settings,
    value: Callable[[str], str],
) -> str:
    """The page's template, its per-request values given by `value(name)`: the
    request's own, or the slots (`pages.slot`)."""
    return pages.render_page(
        "codes/resolver.html",
        doc=resolution.document(batch_doc.parts, item),
        threshold=settings.suspicious_scan_threshold,
        first_scanned=value("first_scanned") if item is not None else None,
        form_action=value("form_action"),
        linkset_href=value("linkset_href"),
    )


# The resolver: a hot route (GET and HEAD), answered by `resolve_code` alone.
_RESOLVER_DOC: dict[str, Any] = OPTIONAL_KEY | {
    "parameters": [
        path_parameter(
            "code",
            "`{gtin}`, `{gtin}/10/{lot}` or `{gtin}/10/{lot}/21/{serial}` "
            "(lot and serial percent-encoded)",
            "06901234567892/10/L2026-11/21/PGX7VNTREP7KUZQQOZUW",
        ),
        query_parameter(
            "format", "override `Accept`", {"type": "string", "enum": ["json", "html"]}
        ),
        query_parameter(
            "linkType",
            "`linkset` (or `all`), `gs1:pip` (default), `gs1:recallStatus`, "
            "`gs1:certificationInfo`, `gs1:review`",
            {"type": "string", "maxLength": 200},
        ),
    ]
}
_RESOLVER_ROUTE: dict[str, Any] = {
    "tags": ["resolver"],
    "response_class": Response,
    "responses": _RESOLVER_RESPONSES,
    "openapi_extra": _RESOLVER_DOC,
}
RESOLVER_ROUTES = (
    HotRoute(
        CODE_PATH, resolve_code, methods=["GET"], operation_id="resolve_code", **_RESOLVER_ROUTE
    ),
    HotRoute(
        CODE_PATH,
        resolve_code,
        methods=["HEAD"],
        operation_id="resolve_code_head",
        summary="Resolve Code (headers only)",
        **_RESOLVER_ROUTE,
    ),
)


@contextlib.asynccontextmanager
async def _primary_driver(request: Request) -> AsyncIterator[Any]:
    """A raw connection to the primary: the hot pool's, or the request session's."""
    pool = database_of(request).primary_pool
    if pool is not None:
        async with pool.acquire() as connection:
            yield connection
        return
    async with hotroute.request_session(request) as session:
        yield await fastpath.driver(session)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _feedback_data(content_type: str, data: bytes) -> FeedbackCreate:
    value = json_or_form(content_type, data, max_fields=10)
    try:
        return FeedbackCreate.model_validate(value)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


# A form post (a browser's, not asking for JSON) gets its 404 and 422 as pages.
_FEEDBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "model": FeedbackOut,
        "description": "stored: the feedback (JSON) or a thank-you page (form)",
        "content": {"text/html": {}},
    },
    404: {
        "description": "not a genuine code, or not a `…/feedback` path",
        "content": {PROBLEM_JSON: {}, "text/html": {}},
    },
    **responses(401, 422, 429),
}
_FEEDBACK_RESPONSES[422]["content"]["text/html"] = {}


@router.post(
    CODE_PATH,
    status_code=201,
    response_class=Response,
    dependencies=[FeedbackLimit],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": FeedbackCreate.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": FeedbackCreate.model_json_schema()},
            },
        }
    },
    responses=_FEEDBACK_RESPONSES,
)
async def post_feedback(
    request: Request,
    code: CodeParam,
    session: DbSession,
    secret: CodeSecret,
    idempotency: Idempotent,
) -> Response:
    """Anonymous rating (1-5), comment (≤ 500), complaint flag and private contact, at
    the code's URI followed by `/feedback`: from the page's form (then a thank-you
    page) or as JSON."""
    path = _without_slash(pages.raw_path(request))
    if not path.endswith(FEEDBACK_SUFFIX):
        if _code(path) is not None:  # a code's URI: read, not posted to
            raise MethodNotAllowed(
                "feedback is posted to the code's URI followed by /feedback",
                headers={"Allow": "GET, HEAD, OPTIONS"},
            )
        raise NotFound("feedback is posted to the code's URI followed by /feedback")
    content_type = request.headers.get("content-type", "").lower()
    # A browser's form gets pages back; a client that sends JSON or asks for JSON
    # (whatever it sent) gets JSON and problem+json.
    html = not content_type.startswith("application/json") and not wants_json(
        None, request.headers.get("accept")
    )
    code_path = path.removesuffix(FEEDBACK_SUFFIX)
    parsed = _code(code_path)
    if parsed is None or not _genuine(parsed, secret):
        return pages.not_genuine(request, html=html, detail="this code was not issued here")

    async def make() -> Created | Response:
        data = _feedback_data(content_type, await read_bounded(request, MAX_FEEDBACK_BYTES))
        target = await feedback.find_target(session, parsed)
        if target is None:
            return pages.not_genuine(request, html=False, detail="no such code is registered")
        view = await feedback.create(
            session, target, data, request_client_hash(request), request_client_net(request)
        )
        return Created(view, location=f"/v1/feedback/{view.id}")

    if not html:
        return await idempotency.create(make)
    try:
        data = _feedback_data(content_type, await read_bounded(request, MAX_FEEDBACK_BYTES))
    except (RequestValidationError, Unprocessable) as exc:
        return _invalid_form(exc, code_path)
    target = await feedback.find_target(session, parsed)
    if target is None:
        return pages.not_genuine(request, html=True, detail="no such code is registered")
    view = await feedback.create(
        session, target, data, request_client_hash(request), request_client_net(request)
    )
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
