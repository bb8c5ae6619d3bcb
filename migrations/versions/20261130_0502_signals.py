"""signals: daily series per category x prefecture x source, signals, product category

Revision ID: 0502
Revises: 0501
Create Date: 2026-11-30 13:00:00

Also an index on item_scans(scanned_at): the daily job counts one day of scans
with a range scan, never a pass over every scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0502"
down_revision: str | Sequence[str] | None = "0501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rules_version", sa.String(length=10), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("series_rows", sa.Integer(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_signal_runs")),
    )
    op.create_table(
        "signal_series",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=4), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("trials", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "records", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "day", "source", "category", "region", name=op.f("pk_signal_series")
        ),
    )
    op.create_index(
        "ix_signal_series_source_category_region_day",
        "signal_series",
        ["source", "category", "region", "day"],
        unique=False,
    )
    op.create_table(
        "signals",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=4), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="new", nullable=False),
        sa.Column("rules_version", sa.String(length=10), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("baseline", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expected", sa.Double(), nullable=False),
        sa.Column("observed", sa.Double(), nullable=False),
        sa.Column("bound", sa.Double(), nullable=False),
        sa.Column("statistic", sa.Double(), nullable=False),
        sa.Column("p_value", sa.Double(), nullable=False),
        sa.Column("records", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    op.create_index(
        "ix_signals_status_level_day", "signals", ["status", "level", "day"], unique=False
    )
    op.create_index(
        "uq_signals_open_key",
        "signals",
        ["key"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index("ix_item_scans_scanned_at", "item_scans", ["scanned_at"], unique=False)
    op.add_column("products", sa.Column("category", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("products", "category")
    op.drop_index("ix_item_scans_scanned_at", table_name="item_scans")
    op.drop_table("signals")
    op.drop_table("signal_series")
    op.drop_table("signal_runs")
