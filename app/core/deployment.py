"""Start-up checks of a deployment against `DATABASE_URL` (issue #13, SPEC §1, §7).

Three traps of a first deployment are refused here, before the service answers:

- the service connects as a role that owns a log table, or may UPDATE, DELETE or
  TRUNCATE one, or is a superuser: it could drop the append-only triggers or
  rewrite history. Log tables are found by their `qcr_refuse_change` triggers,
  so this module needs no list of them. `QCR_ALLOW_PRIVILEGED_ROLE=true` turns
  the refusal into a loud warning (for a throw-away test server only);
- `DATABASE_URL` is set but `QCR_CODE_SECRET` is not: each container would make
  its own secret, and every code issued by another would look forged.

The embedded default passes both: its service login is a member of `qcr_service`
(INSERT and SELECT on the log tables) and its secret lives in the data dir.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.settings import Settings

log = structlog.get_logger("qcr.deployment")

# Tables with an append-only trigger, and what the connected role may do to them.
_PRIVILEGES = text(
    """
    SELECT c.relname AS name,
           pg_has_role(current_user, c.relowner, 'USAGE') AS owns,
           has_table_privilege(current_user, c.oid, 'UPDATE') AS can_update,
           has_table_privilege(current_user, c.oid, 'DELETE') AS can_delete,
           has_table_privilege(current_user, c.oid, 'TRUNCATE') AS can_truncate
    FROM pg_class c
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition  -- a partitioned log: its parent
      AND c.relnamespace = 'public'::regnamespace
      AND EXISTS (
        SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE t.tgrelid = c.oid AND p.proname = 'qcr_refuse_change'
          AND (t.tgtype & 16) <> 0  -- refuses UPDATE: an append-only log table
      )
    ORDER BY c.relname
    """
)


class UnsafeDeployment(RuntimeError):
    """The service must not start like this (the message says why and what to do)."""


@dataclass(frozen=True)
class RoleReport:
    role: str
    superuser: bool
    unsafe_tables: tuple[str, ...]  # "table (owner)" / "table (UPDATE, DELETE)"

    @property
    def safe(self) -> bool:
        return not self.superuser and not self.unsafe_tables


async def inspect_role(url: str) -> RoleReport:
    """What the role behind `url` may do to the log tables."""
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            role = str(await conn.scalar(text("SELECT current_user")))
            superuser = bool(
                await conn.scalar(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                )
            )
            unsafe = []
            for row in (await conn.execute(_PRIVILEGES)).mappings():
                if row["owns"]:
                    unsafe.append(f"{row['name']} (owner)")
                    continue
                verbs = [v for v in ("update", "delete", "truncate") if row[f"can_{v}"]]
                if verbs:
                    unsafe.append(f"{row['name']} ({', '.join(v.upper() for v in verbs)})")
    finally:
        await engine.dispose()
    return RoleReport(role, superuser, tuple(unsafe))


async def check(settings: Settings, service_url: str) -> None:
    """Refuse (UnsafeDeployment) or, with the flag, warn; nothing to say is silence."""
    if not settings.database_url:
        return  # the embedded server: its roles and secret are made right
    if not settings.code_secret:
        raise UnsafeDeployment(
            "QCR_CODE_SECRET is required when DATABASE_URL is set: without it each "
            "container makes its own secret and codes issued by another look forged"
        )
    report = await inspect_role(service_url)
    if report.safe:
        return
    what = (
        "a superuser" if report.superuser else "able to change " + ", ".join(report.unsafe_tables)
    )
    message = (
        f"the service role {report.role!r} is {what}: it could disable the append-only "
        "triggers or rewrite the logs. Connect DATABASE_URL as a login in qcr_service "
        "and run migrations as the owner (QCR_MIGRATION_DATABASE_URL, `qcr migrate`)"
    )
    if not settings.allow_privileged_role:
        raise UnsafeDeployment(message)
    log.warning("unsafe_service_role", detail=message, allowed_by="QCR_ALLOW_PRIVILEGED_ROLE")
