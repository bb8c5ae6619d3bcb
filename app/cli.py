"""`qcr` — serve, migrate, manage keys, load demo data, publish lists, verify audit."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Database, make_engine, prepare
from app.core.principal import SYSTEM, Principal, Role
from app.core.progress import progress
from app.core.settings import get_settings

T = TypeVar("T")


def _in_session(urls_service: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        from app.journal import heads, witness
        from app.wiring import install_listeners

        database = Database(make_engine(urls_service, get_settings(), pool_size=2))
        install_listeners()
        try:
            signer: heads.Signer | None = heads.load_signer(get_settings())
        except heads.SigningKeyError:
            signer = None  # only publishing signs; it says so if the key is missing
        witness.configure(signer)
        try:
            from app.startup import start_up

            await start_up(database, get_settings())
            async with database.sessionmaker() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await database.dispose()

    return asyncio.run(run())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.journal import heads
    from app.partners import process as dispatcher_process

    settings = get_settings()
    try:
        heads.load_signer(settings)
    except heads.SigningKeyError as error:
        print(f"qcr serve: {error}", file=sys.stderr)
        return 2
    prepare(settings, migrate=not args.no_migrate)
    # uvicorn drains the requests in flight on SIGTERM, then raises the signal again
    # with the handler found at start; a drained shutdown is a clean one, so that
    # handler absorbs it and `serve` exits 0 (process managers read 143 as a crash).
    signal.signal(signal.SIGTERM, lambda *_: None)
    # One webhook dispatcher leads per deployment (SPEC §11); each `serve` runs one
    # for the election, in a process of its own that the requests go before.
    dispatcher = dispatcher_process.spawn() if settings.webhook_dispatcher else None
    try:
        uvicorn.run(
            "app.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            loop="uvloop",
            http="httptools",
            access_log=False,
            proxy_headers=False,  # X-Forwarded-For is read by the app, from trusted proxies only
            timeout_graceful_shutdown=20,
        )
    finally:
        if dispatcher is not None:
            dispatcher_process.stop(dispatcher)
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    from app.partners import process as dispatcher_process

    return dispatcher_process.run(get_settings(), args.parent)


def cmd_migrate(_: argparse.Namespace) -> int:
    prepare(get_settings(), migrate=True)
    print("database schema at head")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from app.apikeys import service
    from app.organizations import codes

    role = Role(args.role)
    uscc = None
    if args.uscc:
        try:
            uscc = codes.parse_uscc(args.uscc)
        except codes.InvalidCode as exc:
            print(f"--uscc: {exc}", file=sys.stderr)
            return 2
    if role is Role.enterprise and not uscc:
        print("--uscc is required for an enterprise key", file=sys.stderr)
        return 2
    if args.official is not None and role is not Role.regulator:
        print("--official names the official behind a regulator key", file=sys.stderr)
        return 2
    urls = prepare(get_settings(), migrate=True)
    created = _in_session(
        urls.service,
        lambda s: service.create_key(
            s, SYSTEM, name=args.name, role=role, uscc=uscc, official=args.official
        ),
    )
    print(f"created {role.value} key {created.key.id} ({created.key.prefix}…); the secret:")
    print(created.secret)
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from app.apikeys import service
    from app.core.errors import NotFound

    # `-` reads the key from standard input, so that a secret never shows in a
    # process list (SPEC §1).
    given = sys.stdin.readline() if args.key == "-" else args.key
    if not given.strip():
        print("no key given", file=sys.stderr)
        return 1
    reference = service.parse_key_reference(given)
    urls = prepare(get_settings(), migrate=True)
    try:
        key = _in_session(urls.service, lambda s: service.revoke_key(s, SYSTEM, reference))
    except NotFound as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    print(f"revoked {key.id}")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from app.demo import loader as demo

    urls = prepare(get_settings(), migrate=True)
    with progress("demo data", args.organizations) as advance:
        summary = _in_session(
            urls.service,
            lambda s: demo.load(s, organizations=args.organizations, advance=advance),
        )
    print(summary)
    return 0


def cmd_lists_publish(args: argparse.Namespace) -> int:
    import datetime as dt

    from app.core.errors import RegistryError
    from app.journal import heads
    from app.lists import service
    from app.lists.models import ListPublication

    try:
        heads.load_signer(get_settings())  # the witness is a signed tree head (SPEC §7)
    except heads.SigningKeyError as error:
        print(f"qcr lists publish: {error}", file=sys.stderr)
        return 2
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            print(f"--as-of: {args.as_of!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return 2
    urls = prepare(get_settings(), migrate=True)
    # Four eyes (SPEC §9): the black list is proposed by a named official.
    actor = Principal(Role.regulator, official=args.official) if args.official else SYSTEM
    try:
        with progress(f"{args.kind} list", None) as advance:
            publication = _in_session(
                urls.service,
                lambda s: service.publish_list(
                    s, actor, args.kind, as_of=as_of, note=args.note, advance=advance
                ),
            )
    except RegistryError as exc:
        print(exc.detail, file=sys.stderr)
        return 2
    if not isinstance(publication, ListPublication):  # a pending approval
        print(
            f"proposed: approval {publication.id} is pending; a second official decides "
            f"at POST /v1/approvals/{publication.id}/decision"
        )
        return 0
    print(
        f"published {publication.kind} list {publication.number} as of "
        f"{publication.as_of.isoformat()}: {publication.entry_count} entries, "
        f"sha256 {publication.sha256}"
    )
    return 0


def cmd_audit_verify(_: argparse.Namespace) -> int:
    from app.audit import verify

    urls = prepare(get_settings(), migrate=False)
    total = _in_session(urls.service, verify.leaf_count) if sys.stderr.isatty() else None
    with progress("audit verify", total) as advance:
        report = _in_session(urls.service, lambda s: verify.verify(s, advance=advance))
    print(
        f"{report.leaves} leaves, {report.heads} signed tree heads and "
        f"{report.witnesses} publication witnesses checked"
    )
    if report.unsequenced:
        print(f"{report.unsequenced} entries are not sequenced yet (not a failure)")
    if report.unsigned_tail:
        print(f"{report.unsigned_tail} sequenced entries are not covered by a signed head yet")
    if report.failure is not None:
        print(f"audit log broken: {report.failure}")
        return 1
    print("audit log intact")
    return 0


def cmd_credit_refresh(_: argparse.Namespace) -> int:
    from app.credit import service

    urls = prepare(get_settings(), migrate=True)
    with progress("credit refresh", None) as advance:
        refreshed = _in_session(urls.service, lambda s: service.refresh_due(s, advance=advance))
    print(f"credit statuses refreshed: {refreshed}")
    return 0


def cmd_calendar_load(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.calendar import service

    try:
        with open(args.file, "rb") as source:
            year = service.YearFile.model_validate_json(source.read())
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        print(f"{args.file}: {where}: {first['msg']}", file=sys.stderr)
        return 2
    urls = prepare(get_settings(), migrate=True)
    _in_session(urls.service, lambda s: service.load_year(s, year))
    print(
        f"calendar {year.year} loaded: {len(set(year.holidays))} holidays, "
        f"{len(set(year.workdays))} adjusted working days"
    )
    return 0


def cmd_signals_run(args: argparse.Namespace) -> int:
    import datetime as dt

    from app.signals import job

    settings = get_settings()
    try:
        day = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print("--date: expected YYYY-MM-DD", file=sys.stderr)
        return 2
    day = day or dt.datetime.now(settings.zone).date() - dt.timedelta(days=1)
    urls = prepare(settings, migrate=True)
    result = _in_session(urls.service, lambda s: job.run_day(s, day, settings))
    print(f"signals {day}: {result.series_rows} series rows, {result.raised} signals raised")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qcr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate (unless --no-migrate) and serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true")
    serve.set_defaults(func=cmd_serve)

    dispatch = sub.add_parser(
        "dispatch", help="the webhook dispatcher (`serve` starts one; it stops with its parent)"
    )
    dispatch.add_argument("--parent", type=int, default=os.getppid(), help="stop when it ends")
    dispatch.set_defaults(func=cmd_dispatch)

    sub.add_parser("migrate", help="upgrade the schema to head").set_defaults(func=cmd_migrate)

    apikey = sub.add_parser("apikey", help="API keys").add_subparsers(dest="action", required=True)
    create = apikey.add_parser("create", help="create a key; the secret is the last line")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--role", required=True, choices=["admin", "regulator", "partner", "enterprise"]
    )
    create.add_argument("--uscc")
    create.add_argument("--official", help="the official behind a regulator key (four eyes)")
    create.set_defaults(func=cmd_apikey_create)
    revoke = apikey.add_parser(
        "revoke", help="revoke a key by its id or its secret (- reads it from stdin)"
    )
    revoke.add_argument("key", help="the key's id, its secret, or - to read either from stdin")
    revoke.set_defaults(func=cmd_apikey_revoke)

    demo = sub.add_parser("demo-data", help="load a realistic demo data set")
    demo.add_argument("--organizations", type=int, default=300)
    demo.set_defaults(func=cmd_demo_data)

    credit = sub.add_parser("credit", help="credit engine").add_subparsers(
        dest="action", required=True
    )
    credit.add_parser(
        "refresh", help="recompute statuses whose window edge has passed (also run daily)"
    ).set_defaults(func=cmd_credit_refresh)

    lists = sub.add_parser("lists", help="red and black lists").add_subparsers(
        dest="action", required=True
    )
    publish = lists.add_parser("publish", help="publish the red or black list now or as of a date")
    publish.add_argument("kind", choices=["red", "black"])
    publish.add_argument("--as-of", help="valid date YYYY-MM-DD (default: today)")
    publish.add_argument("--note", help="a note kept with the publication")
    publish.add_argument(
        "--official", help="the official proposing a black list (four eyes: 202-like proposal)"
    )
    publish.set_defaults(func=cmd_lists_publish)

    calendar = sub.add_parser("calendar", help="working-day calendar").add_subparsers(
        dest="action", required=True
    )
    load = calendar.add_parser("load", help="load a year: {year, holidays: [...], workdays: [...]}")
    load.add_argument("file")
    load.set_defaults(func=cmd_calendar_load)

    signals = sub.add_parser("signals", help="risk signals").add_subparsers(
        dest="action", required=True
    )
    signals_run = signals.add_parser(
        "run", help="count a day's series and run the detectors (default: yesterday)"
    )
    signals_run.add_argument("--date", help="YYYY-MM-DD")
    signals_run.set_defaults(func=cmd_signals_run)

    audit = sub.add_parser("audit", help="audit chain").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="recompute the chain; exit 1 on a break").set_defaults(
        func=cmd_audit_verify
    )
    return parser


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def database_failure(exc: BaseException) -> str | None:
    """One line saying what failed and where, when `exc` is the database being
    unreachable, refusing us or misnamed (no traceback for that); else None."""
    import asyncpg
    from pydantic import ValidationError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from app.core.errors import is_unavailable

    if isinstance(exc, ValidationError):  # the settings, read from the environment
        first = exc.errors()[0]
        field = str(first.get("loc", ("?",))[0])
        return f"{field}: {first.get('msg', 'invalid')}"
    settings = get_settings()
    where = "the embedded server in QCR_DATA_DIR"
    if settings.database_url:
        try:
            url = make_url(settings.database_url)
            where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database} as {url.username}"
        except ArgumentError:
            where = "DATABASE_URL"
    refused = (
        asyncpg.InvalidPasswordError,
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.InvalidCatalogNameError,
    )
    for cause in _chain(exc):
        if isinstance(cause, ArgumentError | NoSuchModuleError):
            return f"DATABASE_URL is not a PostgreSQL URL ({cause})"
        if isinstance(cause, refused) or (isinstance(cause, Exception) and is_unavailable(cause)):
            root = _chain(exc)[-1]
            reason = (str(root).strip().splitlines() or [type(root).__name__])[0]
            return f"cannot use the database at {where}: {reason}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except Exception as exc:
        message = database_failure(exc)
        if message is None:
            raise
        print(f"qcr: {message}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
