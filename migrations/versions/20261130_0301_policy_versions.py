"""policy versions: v2's stored date, violation fields of SAMR Order 45, pending black list

Revision ID: 0301
Revises: 0402
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0301"
down_revision: str | Sequence[str] | None = "0402"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_versions")),
    )
    op.add_column(
        "violations",
        sa.Column("procedure", sa.String(length=8), server_default="ordinary", nullable=False),
    )
    op.add_column(
        "violations",
        sa.Column(
            "penalty_kinds", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.add_column("violations", sa.Column("restriction_until", sa.Date(), nullable=True))
    op.add_column("violations", sa.Column("published_on", sa.Date(), nullable=True))
    op.add_column(
        "violations",
        sa.Column("published_late", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("violations", sa.Column("public_from", sa.Date(), nullable=True))
    op.add_column("violations", sa.Column("public_until", sa.Date(), nullable=True))
    # Records made before v2 were published on the day of their decision (SPEC §4.1).
    op.execute("UPDATE violations SET published_on = decided_on")
    op.alter_column("violations", "published_on", nullable=False)
    op.create_check_constraint(
        op.f("ck_violations_procedure"), "violations", "procedure IN ('ordinary', 'summary')"
    )
    op.add_column(
        "credit_status",
        sa.Column("black_list_pending", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("credit_status", sa.Column("notice_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("credit_status", "notice_id")
    op.drop_column("credit_status", "black_list_pending")
    op.drop_constraint(op.f("ck_violations_procedure"), "violations", type_="check")
    for column in (
        "public_until",
        "public_from",
        "published_late",
        "published_on",
        "restriction_until",
        "penalty_kinds",
        "procedure",
    ):
        op.drop_column("violations", column)
    op.drop_table("policy_versions")
