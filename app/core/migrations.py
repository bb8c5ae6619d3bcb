"""Alembic, driven from code: `qcr migrate`, `qcr serve` and the tests."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# Held while migrating so that several replicas starting at once migrate once.
MIGRATION_LOCK_ID = 0x51C4_0002


# Expression indexes are invisible to autogenerate's comparison; they live in
# the migrations alone.
EXPRESSION_INDEXES = frozenset({"ix_organizations_name_ngrams"})
# Partitions are made by the database (ensure_item_scan_partitions), not by models.
PARTITION = re.compile(r"^item_scans_(\d{4}_\d{2}|default)$")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if type_ == "table" and reflected and compare_to is None and PARTITION.match(name or ""):
        return False
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "heads") -> None:
    """Alembic's env runs its own event loop; keep it off ours."""
    await asyncio.to_thread(upgrade, url, revision)


def append_only_statements(table: str, service_role: str = "qcr_service") -> list[str]:
    """SQL making a table append-only: triggers refuse UPDATE, DELETE and TRUNCATE
    for everyone, and the service role loses those privileges too."""
    return [
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION qcr_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION qcr_refuse_change()",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {service_role}",
    ]
