"""`/console`: sign in with a key once, then server-rendered pages for regulators."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from app.auth import service as auth_service
from app.auth.dependencies import rate_limit
from app.complaints import clock as complaint_clock
from app.complaints import queries as complaint_queries
from app.complaints import service as complaint_service
from app.complaints.schemas import TransitionCreate
from app.console import builtin, duties, sections, sessions
from app.core.database import DbSession
from app.core.errors import RegistryError
from app.core.routing import AutoCommitRoute
from app.core.settings import settings_of
from app.core.templates import environment
from app.signals import service as signal_service
from app.signals.explain import LEVEL_ZH, SOURCE_ZH, explain
from app.signals.models import Signal
from app.signals.schemas import SignalTransition

# Pages and their forms (a browser application on a cookie session, not API operations).
router = APIRouter(
    prefix="/console",
    include_in_schema=False,
    route_class=AutoCommitRoute,
    default_response_class=HTMLResponse,
)
LoginLimit = Depends(rate_limit("console-login", lambda s: s.rate_limit_console_login))
NO_STORE = {"Cache-Control": "no-store"}
MAX_FIELD = 500
builtin.install()
duties.install()


def _page(template: str, status_code: int = 200, **context: Any) -> Response:
    body = environment.get_template(template).render(**context)
    return Response(body, status_code=status_code, media_type="text/html", headers=NO_STORE)


def _cookie_args(request: Request) -> dict[str, Any]:
    secure = settings_of(request.app).public_base_url.startswith("https://")
    return {"httponly": True, "samesite": "strict", "path": "/", "secure": secure}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: str(v)[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


def _login_page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page("console/login.html", status_code, login_csrf=token, error=error)
    response.set_cookie(sessions.CSRF_COOKIE, token, max_age=3600, **_cookie_args(request))
    return response


def _error(status: int, detail: str) -> Response:
    return _page("console/error.html", status, status=status, detail=detail)


async def _live(request: Request, session: DbSession) -> sessions.Live | None:
    return await sessions.current(session, request.cookies.get(sessions.COOKIE))


async def _posted(
    request: Request, session: DbSession
) -> tuple[sessions.Live, dict[str, str]] | Response:
    """The live console session and its posted form, or the answer instead: home
    when logged out, 403 without the session's CSRF token."""
    live = await _live(request, session)
    if live is None:
        return _to_home()
    form = await _form(request)
    if not sessions.same_token(live.csrf, form.get("csrf")):
        return _error(403, "缺少或错误的 CSRF 令牌。")
    return live, form


def _to_home() -> Response:
    return RedirectResponse("/console", status_code=303, headers=NO_STORE)


@router.get("")
async def console_home(request: Request, session: DbSession) -> Response:
    live = await _live(request, session)
    if live is None:
        return _login_page(request)
    parts = [(s, await s.render(session, live.principal)) for s in sections.registered()]
    return _page("console/home.html", csrf=live.csrf, parts=parts)


@router.post("/login", dependencies=[LoginLimit])
async def console_login(request: Request, session: DbSession) -> Response:
    form = await _form(request)
    if not sessions.same_token(request.cookies.get(sessions.CSRF_COOKIE), form.get("csrf")):
        return _error(403, "表单已过期或缺少 CSRF 令牌，请重新打开登录页。")
    principal = await auth_service.authenticate(session, form.get("key", "").strip())
    if principal is None:
        return _login_page(request, 401, "密钥无效或已吊销。")
    if not principal.is_regulator:
        return _login_page(request, 403, "仅监管部门的密钥可以登录。")
    raw, _ = await sessions.open_session(session, principal)
    response = _to_home()
    response.set_cookie(sessions.COOKIE, raw, **_cookie_args(request))
    response.delete_cookie(sessions.CSRF_COOKIE, **_cookie_args(request))
    return response


@router.post("/logout")
async def console_logout(request: Request, session: DbSession) -> Response:
    live = await _live(request, session)
    form = await _form(request)
    if live is not None:
        if not sessions.same_token(live.csrf, form.get("csrf")):
            return _error(403, "缺少或错误的 CSRF 令牌。")
        await sessions.end(session, live)
    response = _to_home()
    response.delete_cookie(sessions.COOKIE, **_cookie_args(request))
    return response


@router.get("/signals/{id}")
async def console_signal(id: uuid.UUID, request: Request, session: DbSession) -> Response:
    live = await _live(request, session)
    if live is None:
        return _login_page(request)
    signal = await session.get(Signal, id)
    if signal is None:
        return _error(404, "没有这个风险信号。")
    charts = await builtin.signal_charts(session, [signal])
    zh, en = explain(signal)
    return _page(
        "console/signal.html",
        csrf=live.csrf,
        signal=signal,
        chart=charts[str(signal.id)],
        zh=zh,
        en=en,
        moves=sorted(signal_service.MOVES.get(signal.status, ())),
        LEVEL_ZH=LEVEL_ZH,
        SOURCE_ZH=SOURCE_ZH,
    )


@router.post("/signals/{id}/transitions")
async def console_move_signal(id: uuid.UUID, request: Request, session: DbSession) -> Response:
    posted = await _posted(request, session)
    if isinstance(posted, Response):
        return posted
    live, form = posted
    try:
        body = SignalTransition(to=form.get("to", ""), reason=form.get("reason") or None)
        await signal_service.move(session, live.principal, id, body)
    except ValidationError:
        return _error(422, "无效的操作。")
    except RegistryError as exc:
        return _error(exc.status, exc.detail)
    return RedirectResponse(f"/console/signals/{id}", status_code=303, headers=NO_STORE)


@router.get("/complaints/{id}")
async def console_complaint(id: uuid.UUID, request: Request, session: DbSession) -> Response:
    live = await _live(request, session)
    if live is None:
        return _login_page(request)
    try:
        complaint = await complaint_queries.one(session, live.principal, id)
    except RegistryError:
        return _error(404, "没有这件投诉举报。")
    moves = sorted(complaint_clock.MOVES[complaint.kind].get(complaint.status, ()))
    return _page(
        "console/complaint.html",
        csrf=live.csrf,
        c=complaint,
        moves=moves,
        reject_reasons=complaint_clock.REJECT_REASONS,
        terminate_reasons=complaint_clock.TERMINATE_REASONS,
    )


@router.post("/complaints/{id}/transitions")
async def console_move_complaint(id: uuid.UUID, request: Request, session: DbSession) -> Response:
    posted = await _posted(request, session)
    if isinstance(posted, Response):
        return posted
    live, form = posted
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf" and v}
    if "substantiated" in values:
        values["substantiated"] = values["substantiated"] == "true"
    try:
        body = TransitionCreate.model_validate(values)
        await complaint_service.transition(session, live.principal, id, body)
    except ValidationError as exc:
        detail = "；".join(str(e["loc"][-1]) + ": " + e["msg"] for e in exc.errors()[:3])
        return _error(422, detail)
    except RegistryError as exc:
        return _error(exc.status, exc.detail)
    return RedirectResponse(f"/console/complaints/{id}", status_code=303, headers=NO_STORE)
