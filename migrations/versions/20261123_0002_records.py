"""records: grades, violations, inspections, recalls, their versions; change feed; idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:12:11.528072
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.migrations import append_only_statements

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_events")),
    )
    op.create_index("ix_change_events_uscc_seq", "change_events", ["uscc", "seq"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("media_type", sa.Text(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "record_versions",
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint(
            "record_type", "record_id", "version", name=op.f("pk_record_versions")
        ),
    )
    op.create_index(
        op.f("ix_record_versions_organization_id"),
        "record_versions",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "grade_assessments",
        sa.Column("grade", sa.String(length=3), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "grade IN ('AAA', 'AA', 'A', 'B', 'C', 'D')", name=op.f("ck_grade_assessments_grade")
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until >= assessed_on",
            name=op.f("ck_grade_assessments_valid_until"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_grade_assessments_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_assessments")),
    )
    op.create_index(
        op.f("ix_grade_assessments_organization_id"),
        "grade_assessments",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "inspections",
        sa.Column("report_no", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("standard", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=4), nullable=False),
        sa.Column("failed_items", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("rectified_on", sa.Date(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "rectified_on IS NULL OR (result = 'fail' AND rectified_on >= inspected_on)",
            name=op.f("ck_inspections_rectified_on"),
        ),
        sa.CheckConstraint("result IN ('pass', 'fail')", name=op.f("ck_inspections_result")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_inspections_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.UniqueConstraint("authority", "report_no", name="uq_inspections_authority_report_no"),
    )
    op.create_index(op.f("ix_inspections_gtin"), "inspections", ["gtin"], unique=False)
    op.create_index(
        op.f("ix_inspections_organization_id"), "inspections", ["organization_id"], unique=False
    )
    op.create_table(
        "recalls",
        sa.Column("recall_no", sa.Text(), nullable=False),
        sa.Column("product_name", sa.Text(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lots", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("initiated_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("hazard_class", sa.SmallInteger(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=True),
        sa.Column("remedy", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="ongoing", nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("kind IN ('voluntary', 'ordered')", name=op.f("ck_recalls_kind")),
        sa.CheckConstraint(
            "status IN ('ongoing', 'completed', 'terminated')", name=op.f("ck_recalls_status")
        ),
        sa.CheckConstraint("hazard_class IN (1, 2, 3)", name=op.f("ck_recalls_hazard_class")),
        sa.CheckConstraint("units IS NULL OR units >= 0", name=op.f("ck_recalls_units")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_recalls_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalls")),
        sa.UniqueConstraint("recall_no", name=op.f("uq_recalls_recall_no")),
    )
    op.create_index(op.f("ix_recalls_gtin"), "recalls", ["gtin"], unique=False)
    op.create_index(
        op.f("ix_recalls_organization_id"), "recalls", ["organization_id"], unique=False
    )
    op.create_table(
        "violations",
        sa.Column("case_no", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("public_summary", sa.Text(), nullable=False),
        sa.Column("penalty_amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("rectified_on", sa.Date(), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("repaired_on", sa.Date(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "severity IN ('minor', 'general', 'serious')", name=op.f("ck_violations_severity")
        ),
        sa.CheckConstraint(
            "(revoked_on IS NULL) = (revoked_reason IS NULL)",
            name=op.f("ck_violations_revoked_reason"),
        ),
        sa.CheckConstraint(
            "penalty_amount IS NULL OR penalty_amount >= 0",
            name=op.f("ck_violations_penalty_amount"),
        ),
        sa.CheckConstraint(
            "rectified_on IS NULL OR rectified_on >= decided_on",
            name=op.f("ck_violations_rectified_on"),
        ),
        sa.CheckConstraint(
            "revoked_on IS NULL OR revoked_on >= decided_on", name=op.f("ck_violations_revoked_on")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_violations_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint("authority", "case_no", name="uq_violations_authority_case_no"),
    )
    op.create_index(
        op.f("ix_violations_organization_id"), "violations", ["organization_id"], unique=False
    )
    op.create_index(
        "ix_violations_organization_id_decided_on",
        "violations",
        ["organization_id", "decided_on"],
        unique=False,
    )
    for table in ("record_versions", "change_events"):
        for statement in append_only_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_violations_organization_id_decided_on", table_name="violations")
    op.drop_index(op.f("ix_violations_organization_id"), table_name="violations")
    op.drop_table("violations")
    op.drop_index(op.f("ix_recalls_organization_id"), table_name="recalls")
    op.drop_index(op.f("ix_recalls_gtin"), table_name="recalls")
    op.drop_table("recalls")
    op.drop_index(op.f("ix_inspections_organization_id"), table_name="inspections")
    op.drop_index(op.f("ix_inspections_gtin"), table_name="inspections")
    op.drop_table("inspections")
    op.drop_index(op.f("ix_grade_assessments_organization_id"), table_name="grade_assessments")
    op.drop_table("grade_assessments")
    op.drop_index(op.f("ix_record_versions_organization_id"), table_name="record_versions")
    op.drop_table("record_versions")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_change_events_uscc_seq", table_name="change_events")
    op.drop_table("change_events")
