"""The credit lookup and the batch: the reads partners exist for.

`GET /v1/organizations/{code}/credit` is a hot route (app/core/hotroute.py):
`credit_lookup` alone answers it — key, rate limit, validation, the stored
status as JSON built by the database (app/credit/answers.py), or an evaluation
for `as_of`, `known_at` and statuses past their edge. The batch is an ordinary
route with the same two sources.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson
from fastapi import Request, Response

from app.auth import keys
from app.auth.dependencies import charge
from app.core.clock import today
from app.core.database import database_of
from app.core.errors import NotFound, invalid
from app.core.hotroute import read_session, read_sessions
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.watched import WatchedCache
from app.credit import answers
from app.credit import service as credit_service
from app.organizations import codes
from app.organizations import service as organization_service

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?$"
)
JSON = "application/json"


def view(principal: Principal, fields: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """Evaluated credit fields as this caller may see them."""
    reasons = fields["reasons"]
    if principal.is_regulator:
        shown = [{k: v for k, v in r.items() if k != "published_until"} for r in reasons]
    else:
        shown = credit_service.public_reasons(reasons, on)
    return fields | {"reasons": shown}


def parse_date(raw: str | None, field: str) -> dt.date | None:
    """An ISO 8601 date `YYYY-MM-DD` (SPEC §8), else a 422 naming the field."""
    if raw is None:
        return None
    try:
        if _DATE.match(raw):
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise invalid(field, "must be a date YYYY-MM-DD")


def parse_timestamp(raw: str | None, field: str) -> dt.datetime | None:
    """An RFC 3339 timestamp (the zone defaults to the registry's), else a 422."""
    if raw is None:
        return None
    try:
        if _TIMESTAMP.match(raw):
            value = dt.datetime.fromisoformat(raw.replace("z", "Z"))
            return value if value.tzinfo else value.replace(tzinfo=get_settings().zone)
    except ValueError:
        pass
    raise invalid(field, "must be an RFC 3339 timestamp")


def check_dates(as_of: dt.date | None, known_at: dt.datetime | None) -> None:
    if as_of is not None and as_of > today():
        raise invalid("as_of", f"is after today ({today().isoformat()}): the future is not known")
    if known_at is not None and known_at > dt.datetime.now(dt.UTC):
        raise invalid("known_at", "is in the future")


def parse_code(raw: str) -> str:
    try:
        return codes.parse_code(raw).value
    except codes.InvalidCode as exc:
        raise invalid("code", str(exc)) from None


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise invalid(name, "may be given once")
    return values[0] if values else None


async def credit_lookup(request: Request) -> Response:
    """The computed grade, A-level, list membership and every reason, now or as of a date."""
    principal = await keys.principal_of(request)
    if principal.is_anonymous:
        await charge(request, "public", lambda s: s.rate_limit_public)
    raw = request.path_params["code"]
    if len(raw) > 64:
        raise invalid("code", "must be at most 64 characters")
    code = parse_code(raw)
    as_of = parse_date(_single(request, "as_of"), "as_of")
    known_at = parse_timestamp(_single(request, "known_at"), "known_at")
    check_dates(as_of, known_at)
    on = as_of or today()
    database = database_of(request)
    if as_of is None and known_at is None:
        full = principal.is_regulator
        cache = None if full else answers.CACHE.of(request)
        if cache is not None and (cached := cache.get(code)) is not None:
            return Response(answers.single(cached), media_type=JSON)
        token = cache.begin() if cache is not None else 0
        if database.fast_pool is not None:
            stored = await answers.current(None, database.fast_pool, code, full=full, on=on)
        else:
            async with read_session(request) as session:
                stored = await answers.current(session, None, code, full=full, on=on)
        if stored is not None and stored.fresh:
            if cache is not None:
                cache.put(code, stored.fields, (str(stored.organization_id),), token)
            return Response(answers.single(stored.fields), media_type=JSON)
    # Evaluated: time travel, or past its edge.
    async with read_sessions(request) as (session, primary):
        org = await organization_service.find(session, code)
        if known_at is not None:
            found = await credit_service.histories_known_at(session, {org.id: org.uscc}, known_at)
            if org.id not in found:
                raise NotFound(f"the registry did not know {org.uscc} at {known_at.isoformat()}")
            hist = found[org.id]
        elif as_of is not None:
            hist = (await credit_service.histories_of(session, {org.id: org.status}))[org.id]
        else:
            status = await credit_service.current_for_read(session, org, store=primary)
            fields = credit_service.stored_fields(status)
            return Response(
                _dumps(view(principal, fields, on) | {"known_at": None}), media_type=JSON
            )
        evaluated = credit_service.evaluate(org.id, org.uscc, hist, on)
        fields = credit_service.fields_of(evaluated)
    return Response(_dumps(view(principal, fields, on) | {"known_at": known_at}), media_type=JSON)


def _dumps(value: Any) -> bytes:
    # A notice's id read through asyncpg is its own UUID type: written as text.
    return orjson.dumps(value, default=str)


async def credit_batch(
    request: Request, principal: Principal, raws: list[str], as_of: dt.date | None
) -> Response:
    """Credit of up to 1000 codes in request order; a bad code gets its own error.
    One statement builds the answer; statuses past their edge (and every code, for
    a past `as_of`) are evaluated here and handed back to it."""
    check_dates(as_of, None)
    on = as_of or today()
    normalised: list[str | None] = []
    invalid_results: list[str | None] = []
    for raw in raws:
        try:
            normalised.append(codes.parse_code(raw).value)
            invalid_results.append(None)
        except codes.InvalidCode as exc:
            normalised.append(None)
            error = invalid("code", str(exc)).body()
            invalid_results.append(orjson.dumps({"code": raw, "error": error}).decode())
    evaluated: list[str | None] = [None] * len(raws)
    full = principal.is_regulator
    pool = database_of(request).fast_pool
    past = as_of is not None  # a past date: every status is evaluated, none is stored
    cache = None if full or past else answers.CACHE.of(request)
    if cache is not None:
        cached = _from_cache(cache, raws, normalised, invalid_results)
        if cached is not None:
            return Response(cached, media_type=JSON)
    token = cache.begin() if cache is not None else 0
    async with read_session(request) as session:
        db = None if pool is not None else session
        args = (raws, normalised, invalid_results, evaluated)
        wanted = cache is not None
        row = await answers.batch(
            db, pool, *args, full=full, on=on, evaluate_all=past, cacheable=wanted
        )
        if row["stale_positions"]:
            await _evaluate(session, row, raws, evaluated, principal, on)
            row = await answers.batch(
                db, pool, *args, full=full, on=on, evaluate_all=past, cacheable=wanted
            )
    if cache is not None:
        for code, fields, org_id in zip(
            row["fresh_codes"], row["fresh_fields"], row["fresh_ids"], strict=True
        ):
            cache.put(code, fields.encode(), (str(org_id),), token)
    return Response(b'{"results":' + row["body"].encode() + b"}", media_type=JSON)


def _from_cache(
    cache: WatchedCache[str, bytes],
    raws: list[str],
    normalised: list[str | None],
    invalid_results: list[str | None],
) -> bytes | None:
    """The whole answer when every valid code's stored answer is cached, else None."""
    cached = iter(cache.get_many([code for code in normalised if code is not None]))
    entries = []
    for raw, code, refused in zip(raws, normalised, invalid_results, strict=True):
        if code is None:
            assert refused is not None
            entries.append(refused.encode())
            continue
        fields = next(cached)
        if fields is None:
            return None
        entries.append(answers.entry(raw, fields))
    return b'{"results":[' + b", ".join(entries) + b"]}"


async def _evaluate(
    session: Any,
    row: Any,
    raws: list[str],
    evaluated: list[str | None],
    principal: Principal,
    on: dt.date,
) -> None:
    """Fill `evaluated` (in place) for the positions the database could not answer."""
    ids = list(row["stale_ids"])
    statuses = dict(zip(ids, row["stale_statuses"], strict=True))
    usccs = dict(zip(ids, row["stale_usccs"], strict=True))
    histories = await credit_service.histories_of(session, statuses)
    for position, org_id in zip(row["stale_positions"], ids, strict=True):
        fields = credit_service.fields_of(
            credit_service.evaluate(org_id, usccs[org_id], histories[org_id], on)
        )
        result = {"code": raws[position - 1]} | view(principal, fields, on)
        evaluated[position - 1] = orjson.dumps(result).decode()
