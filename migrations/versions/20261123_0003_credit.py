"""credit: materialised credit status and repair requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:16:19.961093
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_status",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("grade", sa.String(length=3), nullable=False),
        sa.Column("assessed_grade", sa.String(length=3), nullable=False),
        sa.Column("a_level", sa.Boolean(), nullable=False),
        sa.Column("red_list", sa.Boolean(), nullable=False),
        sa.Column("black_list", sa.Boolean(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("policy_version", sa.String(length=8), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("holds_until", sa.Date(), nullable=True),
        sa.Column("listed_since", sa.Date(), nullable=True),
        sa.Column("expected_exit", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credit_status_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_credit_status")),
        sa.UniqueConstraint("uscc", name=op.f("uq_credit_status_uscc")),
    )
    op.create_index(
        "ix_credit_status_black",
        "credit_status",
        ["uscc"],
        unique=False,
        postgresql_where="black_list",
    )
    op.create_index("ix_credit_status_grade", "credit_status", ["grade"], unique=False)
    op.create_index("ix_credit_status_holds_until", "credit_status", ["holds_until"], unique=False)
    op.create_index(
        "ix_credit_status_red", "credit_status", ["uscc"], unique=False, postgresql_where="red_list"
    )
    op.create_table(
        "repair_requests",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("violation_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_repair_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_repair_requests_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violations.id"],
            name=op.f("fk_repair_requests_violation_id_violations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_requests")),
    )
    op.create_index(
        op.f("ix_repair_requests_organization_id"),
        "repair_requests",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_repair_requests_violation_id"), "repair_requests", ["violation_id"], unique=False
    )
    op.create_index(
        "uq_repair_requests_pending",
        "repair_requests",
        ["violation_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_repair_requests_pending",
        table_name="repair_requests",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_repair_requests_violation_id"), table_name="repair_requests")
    op.drop_index(op.f("ix_repair_requests_organization_id"), table_name="repair_requests")
    op.drop_table("repair_requests")
    op.drop_index("ix_credit_status_red", table_name="credit_status", postgresql_where="red_list")
    op.drop_index("ix_credit_status_holds_until", table_name="credit_status")
    op.drop_index("ix_credit_status_grade", table_name="credit_status")
    op.drop_index(
        "ix_credit_status_black", table_name="credit_status", postgresql_where="black_list"
    )
    op.drop_table("credit_status")
