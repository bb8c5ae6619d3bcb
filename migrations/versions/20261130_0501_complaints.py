"""complaints: complaints and reports (SPEC §10); feedback flagged as a complaint becomes one

Revision ID: 0501
Revises: 0304
Create Date: 2026-11-30 12:40:00

Feedback posted with `complaint: true` before this revision becomes a complaint
(source `feedback`, category 质量问题, received on the feedback's day in
QCR_TIMEZONE, due 7 working days later on the shipped calendar, art. 14); its
contact, if any, becomes the complainant's phone. The feedback row stays.
"""

import hashlib
import json
import secrets
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0501"
down_revision: str | Sequence[str] | None = "0304"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEEDBACK_COMPLAINTS = """
SELECT f.id, f.organization_id, o.uscc, o.region_code, p.gtin, b.lot, i.serial,
       f.comment, f.contact, f.client_hash, f.created_at
FROM feedback f
JOIN organizations o ON o.id = f.organization_id
JOIN products p ON p.id = f.product_id
LEFT JOIN batches b ON b.id = f.batch_id
LEFT JOIN item_codes i ON i.id = f.item_id
WHERE f.complaint
"""
INSERT = """
INSERT INTO complaints (kind, status, source, authority, organization_id, uscc, region_code,
    gtin, lot, serial, scan_proof, category, description, complainant, private_salt,
    client_hash, cluster_key, feedback_id, received_on, decision_due_on, created_at)
VALUES ('complaint', 'received', 'feedback', :authority, :organization_id, :uscc,
    :region_code, :gtin, :lot, :serial, :scan_proof, :category, :description,
    CAST(:complainant AS jsonb), :salt, :client_hash, :cluster_key, :id, :received_on,
    :due, :created_at)
"""
CATEGORY = "质量问题"


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="received", nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column("serial", sa.String(length=20), nullable=True),
        sa.Column("scan_proof", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("complainant", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("private_salt", sa.LargeBinary(), nullable=False),
        sa.Column("client_hash", sa.LargeBinary(), nullable=True),
        sa.Column("cluster_key", sa.String(length=64), nullable=False),
        sa.Column("feedback_id", sa.Uuid(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("decision_due_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("mediation_due_on", sa.Date(), nullable=True),
        sa.Column(
            "testing_periods",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("extended", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("substantiated", sa.Boolean(), nullable=True),
        sa.Column("substantiated_on", sa.Date(), nullable=True),
        sa.Column("substantiated_recorded_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("kind IN ('complaint', 'report')", name=op.f("ck_complaints_kind")),
        sa.CheckConstraint(
            "source IN ('resolver', 'regulator', 'enterprise', 'partner', 'feedback')",
            name=op.f("ck_complaints_source"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'accepted', 'rejected', 'mediating', 'resolved', 'terminated', 'verified', 'case_opened', 'closed')",
            name=op.f("ck_complaints_status"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 2000", name=op.f("ck_complaints_description")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_complaints_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_complaints_feedback_id")),
    )
    op.create_index("ix_complaints_cluster_key", "complaints", ["cluster_key"], unique=False)
    op.create_index(
        "ix_complaints_organization_id_received_on",
        "complaints",
        ["organization_id", "received_on"],
        unique=False,
    )
    op.create_index("ix_complaints_received_on", "complaints", ["received_on", "id"], unique=False)
    op.create_index(
        "ix_complaints_status_decision_due_on",
        "complaints",
        ["status", "decision_due_on"],
        unique=False,
    )
    _migrate_feedback()


def _migrate_feedback() -> None:
    from app.calendar.shipped import shipped
    from app.core.settings import get_settings

    zone = ZoneInfo(get_settings().timezone)
    calendar = shipped()
    bind = op.get_bind()
    for row in bind.execute(sa.text(FEEDBACK_COMPLAINTS)).mappings().all():
        received = row["created_at"].astimezone(zone).date()
        key = json.dumps([row["uscc"], row["gtin"], row["lot"], CATEGORY], ensure_ascii=False)
        contact = row["contact"]
        complainant = {"name": "", "phone": contact, "address": ""} if contact else None
        bind.execute(
            sa.text(INSERT),
            {
                "id": row["id"],
                "organization_id": row["organization_id"],
                "uscc": row["uscc"],
                "region_code": row["region_code"],
                "authority": row["region_code"],
                "gtin": row["gtin"],
                "lot": row["lot"],
                "serial": row["serial"],
                "scan_proof": row["serial"] is not None,
                "category": CATEGORY,
                "description": row["comment"] or "（消费者评价中标记为质量投诉，未填写内容）",
                "complainant": json.dumps(complainant, ensure_ascii=False) if complainant else None,
                "salt": secrets.token_bytes(16),
                "client_hash": row["client_hash"],
                "cluster_key": hashlib.sha256(key.encode("utf-8")).hexdigest(),
                "received_on": received,
                "due": calendar.working_deadline(received, 7),
                "created_at": row["created_at"],
            },
        )


def downgrade() -> None:
    op.drop_table("complaints")
