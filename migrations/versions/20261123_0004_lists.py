"""lists: red and black list publications and their entries (append-only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.migrations import append_only_statements

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "list_publications",
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_hash", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=8), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("entry_count >= 0", name=op.f("ck_list_publications_entry_count")),
        sa.CheckConstraint("kind IN ('red', 'black')", name=op.f("ck_list_publications_kind")),
        sa.CheckConstraint("number >= 1", name=op.f("ck_list_publications_number")),
        sa.PrimaryKeyConstraint("kind", "number", name=op.f("pk_list_publications")),
    )
    op.create_table(
        "list_entries",
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ordinal", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kind", "number"],
            ["list_publications.kind", "list_publications.number"],
            name=op.f("fk_list_entries_kind_list_publications"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("kind", "number", "ordinal", name=op.f("pk_list_entries")),
    )
    op.create_index(
        "ix_list_entries_kind_number_uscc",
        "list_entries",
        ["kind", "number", "uscc"],
        unique=False,
    )
    # Immutable once published: the database itself refuses changes (SPEC §5).
    for table in ("list_publications", "list_entries"):
        for statement in append_only_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_list_entries_kind_number_uscc", table_name="list_entries")
    op.drop_table("list_entries")
    op.drop_table("list_publications")
