"""retractions: correction publications name the publication they correct and the entries

Revision ID: 0304
Revises: 0303
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0304"
down_revision: str | Sequence[str] | None = "0303"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("list_publications", sa.Column("corrects", sa.Integer(), nullable=True))
    op.add_column(
        "list_publications",
        sa.Column("retracted", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("list_publications", sa.Column("retraction_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("list_publications", "retraction_reason")
    op.drop_column("list_publications", "retracted")
    op.drop_column("list_publications", "corrects")
