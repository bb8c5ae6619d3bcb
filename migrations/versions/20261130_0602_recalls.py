"""recalls: progress reports and "I returned it" confirmations (recall effectiveness)

Revision ID: 0602
Revises: 0601
Create Date: 2026-11-30 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0602"
down_revision: str | None = "0601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recall_progress",
        sa.Column("recall_id", sa.Uuid(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("levels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "notifications",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("planned_completion_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recalls.id"], name=op.f("fk_recall_progress_recall_id_recalls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_progress")),
    )
    op.create_index(
        "ix_recall_progress_recall_id_created_at",
        "recall_progress",
        ["recall_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "recall_returns",
        sa.Column("recall_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "confirmed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item_codes.id"], name=op.f("fk_recall_returns_item_id_item_codes")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recalls.id"], name=op.f("fk_recall_returns_recall_id_recalls")
        ),
        sa.PrimaryKeyConstraint("recall_id", "item_id", name=op.f("pk_recall_returns")),
    )


def downgrade() -> None:
    op.drop_table("recall_returns")
    op.drop_index("ix_recall_progress_recall_id_created_at", table_name="recall_progress")
    op.drop_table("recall_progress")
