# No `from __future__ import annotations` here: the route factory below closes over
# schema classes, and FastAPI must see them as real types.
"""Record endpoints, made once per kind from its schemas."""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from app.auth.dependencies import Caller, Idempotent, Regulator
from app.core.database import DbSession, PrimaryRead
from app.core.dates import IsoDate
from app.core.errors import (
    CONTENTION_STATES,
    NotFound,
    Unavailable,
    Unprocessable,
    invalid,
    is_unavailable,
    sqlstate,
)
from app.core.idempotency import Created
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.core.principal import Principal
from app.core.routing import AutoCommitRoute, created, responses
from app.organizations import service as organization_service
from app.organizations.types import CodePath
from app.records import disputes, imports, schemas, service
from app.records.kinds import GRADE, INSPECTION, RECALL, VIOLATION, Kind
from app.records.models import OrganizationRecord, Violation

STATUS_FILTERS = {
    GRADE.name: None,
    VIOLATION.name: "^(open|rectified|revoked|repaired)$",
    INSPECTION.name: "^(pass|fail)$",
    RECALL.name: "^(ongoing|completed|terminated)$",
}


def _visible(record: OrganizationRecord, principal: Principal) -> bool:
    """Violations are public only inside their publication period."""
    if principal.is_regulator or not isinstance(record, Violation):
        return True
    return service.violation_is_public(record)


def add_kind(router: APIRouter, kind: Kind, create_schema: type, patch_schema: type | None) -> None:
    label = kind.name.replace("_", " ")
    collection = f"/v1/organizations/{{code}}/{kind.plural}"

    def route(
        path: str, endpoint: Callable[..., Any], method: str, name: str, **extra: Any
    ) -> None:
        router.add_api_route(
            path, endpoint, methods=[method], name=name, operation_id=name, **extra
        )

    async def create_record(
        code: CodePath,
        body: create_schema,  # type: ignore[valid-type]
        session: DbSession,
        principal: Regulator,
        idempotency: Idempotent,
    ) -> Response:
        async def make() -> Created:
            org = await organization_service.find(session, code, for_update=True)
            record = await service.create(session, principal, kind, org, body)
            view = service.view(kind, record, org.uscc, privileged=True)
            return Created(view, location=f"/v1/{kind.plural}/{record.id}")

        return await idempotency.create(make)

    create_record.__doc__ = f"Record a {label}."
    route(
        collection,
        create_record,
        "POST",
        f"create_{kind.name}",
        **created(kind.privileged, 401, 403, 404, 409, 422),
    )

    status_pattern = STATUS_FILTERS[kind.name]

    async def list_records(
        code: CodePath,
        session: PrimaryRead,
        principal: Caller,
        date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
        date_to: Annotated[IsoDate | None, Query(alias="to")] = None,
        status: Annotated[str | None, Query(pattern=status_pattern or "^$")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[kind.privileged | kind.public]:  # type: ignore[name-defined]
        org = await organization_service.find(session, code)
        key = decode_cursor(cursor, 2)
        after = None
        if key:
            try:
                after = (dt.date.fromisoformat(str(key[0])), uuid.UUID(str(key[1])))
            except ValueError:
                raise invalid("cursor", "is not a cursor this service issued") from None
        statement = service.list_statement(
            kind,
            org,
            public_only=not principal.is_regulator,
            date_from=date_from,
            date_to=date_to,
            status=status,
            after=after,
            limit=limit + 1,
        )
        rows = (await session.scalars(statement)).all()
        shown = rows[:limit]
        marked = await disputes.disputed(session, kind.name, [r.id for r in shown])
        items = [
            service.view(
                kind, r, org.uscc, privileged=principal.is_regulator, disputed=r.id in marked
            )
            for r in shown
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([getattr(last, kind.date_field).isoformat(), str(last.id)])
        return Page(items=items, next_cursor=next_cursor)

    list_records.__doc__ = (
        f"An organization's {kind.plural}, newest first; public fields for the public."
    )
    route(
        collection,
        list_records,
        "GET",
        f"list_{kind.plural}",
        responses=responses(401, 404, 422),
    )

    item = f"/v1/{kind.plural}/{{id}}"

    async def get_record(
        id: uuid.UUID, session: PrimaryRead, principal: Caller, response: Response
    ) -> kind.privileged | kind.public:  # type: ignore[name-defined]
        record, org = await service.find(session, kind, id)
        if not _visible(record, principal):
            raise NotFound(f"no {label} {id}")
        response.headers["ETag"] = service.etag(record)
        marked = await disputes.disputed(session, kind.name, [record.id])
        return service.view(
            kind, record, org.uscc, privileged=principal.is_regulator, disputed=record.id in marked
        )

    get_record.__doc__ = f"One {label}, with its ETag."
    route(
        item,
        get_record,
        "GET",
        f"get_{kind.name}",
        responses=responses(401, 404, 422),
    )

    if patch_schema is None:  # grade assessments are not corrected in place
        return

    async def patch_record(
        id: uuid.UUID,
        body: patch_schema,  # type: ignore[valid-type]
        session: DbSession,
        principal: Regulator,
        response: Response,
        if_match: Annotated[str | None, Header(max_length=100)] = None,
    ) -> kind.privileged:  # type: ignore[name-defined]
        record, org = await service.patch(session, principal, kind, id, body, if_match=if_match)
        response.headers["ETag"] = service.etag(record)
        marked = await disputes.disputed(session, kind.name, [record.id])
        return service.view(kind, record, org.uscc, privileged=True, disputed=record.id in marked)

    patch_record.__doc__ = f"Change a {label}: creates a new version (If-Match required)."
    route(
        item,
        patch_record,
        "PATCH",
        f"patch_{kind.name}",
        responses=responses(401, 403, 404, 412, 422, 428),
    )

    async def record_history(
        id: uuid.UUID, session: PrimaryRead, principal: Regulator
    ) -> list[schemas.VersionOut]:
        versions = await service.history(session, kind, id)
        return [schemas.VersionOut.model_validate(v, from_attributes=True) for v in versions]

    record_history.__doc__ = f"Every version of a {label}, with who recorded it and when."
    route(
        f"{item}/history",
        record_history,
        "GET",
        f"{kind.name}_history",
        responses=responses(401, 403, 404, 422),
    )


async def _csv_bytes(request: Request) -> bytes:
    """The uploaded file, read once per request: a run again after a deadlock
    (AutoCommitRoute) finds the body already consumed."""
    data: bytes | None = getattr(request.state, "csv_bytes", None)
    if data is None:
        data = request.state.csv_bytes = await _read_csv_bytes(request)
    return data


async def _read_csv_bytes(request: Request) -> bytes:
    """The uploaded file: multipart field `file`, or a `text/csv` body; bounded."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > imports.MAX_BYTES + 64 * 1024:
        raise invalid("file", f"the file exceeds the bound of {imports.MAX_BYTES} bytes")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid("file", "the multipart field 'file' is required")
        data = await upload.read(imports.MAX_BYTES + 1)
    elif content_type.startswith(("text/csv", "application/csv", "text/plain")):
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > imports.MAX_BYTES:
                break
    else:
        raise invalid("file", "send the CSV as multipart field 'file' or as a text/csv body")
    if len(data) > imports.MAX_BYTES:
        raise invalid("file", f"the file exceeds the bound of {imports.MAX_BYTES} bytes")
    return data


async def import_violations(
    request: Request,
    session: DbSession,
    principal: Regulator,
    idempotency: Idempotent,
    mode: Annotated[Literal["atomic", "partial"], Query()] = "atomic",
) -> Response:
    """Import violations from CSV; a report names each rejected row by file line."""

    async def make() -> Created:
        data = await _csv_bytes(request)
        try:
            # mode=partial commits every imports.CHUNK rows (and the key with the
            # first): what an import holds is in app/records/imports.py.
            checkpoint = session.commit if mode == "partial" else None
            report = await imports.run(session, principal, data, mode, checkpoint)
        except imports.ImportInterrupted as exc:
            # Its committed chunks stay; the key is given up, so that a retry runs
            # (and reports those rows as already recorded).
            await idempotency.settle(None)
            await session.commit()
            if not (is_unavailable(exc.cause) or sqlstate(exc.cause) in CONTENTION_STATES):
                raise exc.cause from None
            raise Unavailable(
                f"the import stopped after {exc.report.imported} rows were imported; "
                "send the file again to import the rest",
                headers={"Retry-After": "1"},
                extra={"report": exc.report.model_dump(mode="json")},
            ) from exc.cause
        except imports.ImportRejected as exc:
            errors = [
                {"field": f"line {row.line}: {reason['field']}", "message": reason["message"]}
                for row in (exc.report.rejected if exc.report else [])
                for reason in row.reasons
            ] or [{"field": "file", "message": exc.detail}]
            extra = {"report": exc.report.model_dump(mode="json")} if exc.report else None
            raise Unprocessable(exc.detail, errors=errors, extra=extra) from None
        return Created(report, status_code=200)

    return await idempotency.create(make)


def build_router() -> APIRouter:
    router = APIRouter(tags=["records"], route_class=AutoCommitRoute)
    add_kind(router, GRADE, schemas.GradeCreate, None)
    add_kind(router, VIOLATION, schemas.ViolationCreate, schemas.ViolationPatch)
    add_kind(router, INSPECTION, schemas.InspectionCreate, schemas.InspectionPatch)
    add_kind(router, RECALL, schemas.RecallCreate, schemas.RecallPatch)
    router.add_api_route(
        "/v1/imports/violations",
        import_violations,
        methods=["POST"],
        tags=["imports"],
        operation_id="import_violations",
        response_class=Response,
        responses={
            200: {"model": imports.ImportReport, "description": "the import report"},
            **responses(401, 403, 422),
        },
        openapi_extra={
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                }
            }
        },
    )
    return router
