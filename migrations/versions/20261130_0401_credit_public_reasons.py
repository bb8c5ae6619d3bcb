"""credit_status.public_reasons and public_until: the reasons the public and
partners see, stored with the status so reads need not filter them

Revision ID: 0401
Revises: 0101
Create Date: 2026-11-30 12:10:00

Statuses whose reasons carry a publication period are marked due
(`public_until` in the past): the start-up refresh recomputes them, and until
then a read evaluates them. The others are public as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0401"
down_revision: str | Sequence[str] | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "credit_status",
        sa.Column(
            "public_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("credit_status", sa.Column("public_until", sa.Date(), nullable=True))
    op.execute(
        """
        UPDATE credit_status SET
            public_reasons = reasons,
            public_until = CASE WHEN EXISTS (
                SELECT 1 FROM jsonb_array_elements(reasons) r WHERE r ? 'published_until'
            ) THEN DATE '1970-01-01' END
        """
    )
    op.create_index(
        "ix_credit_status_public_until", "credit_status", ["public_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_credit_status_public_until", table_name="credit_status")
    op.drop_column("credit_status", "public_until")
    op.drop_column("credit_status", "public_reasons")
