"""codes: products, batches, item codes and their issuances, scans, feedback

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 21:40:00.000000

A branch beside the lists migration (0004); both descend from 0003 and the
service upgrades to "heads".
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.migrations import append_only_statements

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created() -> list[sa.Column[Any]]:
    """IdMixin and CreatedMixin columns (a new Column object per table)."""
    return [
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("execution_standard", sa.Text(), nullable=False),
        sa.Column("factory_name", sa.Text(), nullable=False),
        sa.Column("factory_address", sa.Text(), nullable=False),
        *_created(),
        sa.CheckConstraint("gtin ~ '^[0-9]{14}$'", name=op.f("ck_products_gtin")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_products_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("gtin", name=op.f("uq_products_gtin")),
    )
    op.create_index(
        op.f("ix_products_organization_id"), "products", ["organization_id"], unique=False
    )
    op.create_table(
        "batches",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("produced_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column(
            "inspection_reports",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("code_count", sa.Integer(), server_default="0", nullable=False),
        *_created(),
        sa.CheckConstraint("code_count >= 0", name=op.f("ck_batches_code_count")),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on >= produced_on", name=op.f("ck_batches_expires_on")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_batches_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("product_id", "lot", name="uq_batches_product_id_lot"),
    )
    op.create_table(
        "code_issuances",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_item_id", sa.BigInteger(), nullable=False),
        sa.Column("last_item_id", sa.BigInteger(), nullable=False),
        sa.Column("first_serial", sa.String(length=20), nullable=False),
        sa.Column("last_serial", sa.String(length=20), nullable=False),
        *_created(),
        sa.CheckConstraint("count >= 1", name=op.f("ck_code_issuances_count")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_code_issuances_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_issuances")),
    )
    op.create_index(
        op.f("ix_code_issuances_batch_id"), "code_issuances", ["batch_id"], unique=False
    )
    op.create_table(
        "item_codes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("scan_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_item_codes_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_codes")),
        sa.UniqueConstraint("batch_id", "serial", name="uq_item_codes_batch_id_serial"),
    )
    op.create_table(
        "item_scans",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "scanned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("client_hash", sa.LargeBinary(), nullable=False),
        sa.Column("agent", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "agent IN ('mobile', 'desktop', 'bot', 'other')", name=op.f("ck_item_scans_agent")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item_codes.id"], name=op.f("fk_item_scans_item_id_item_codes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_scans")),
    )
    op.create_index(
        "ix_item_scans_item_id_client_hash",
        "item_scans",
        ["item_id", "client_hash"],
        unique=False,
    )
    op.create_table(
        "feedback",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("client_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("char_length(comment) <= 500", name=op.f("ck_feedback_comment")),
        sa.CheckConstraint("char_length(contact) <= 100", name=op.f("ck_feedback_contact")),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_feedback_rating")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_feedback_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item_codes.id"], name=op.f("fk_feedback_item_id_item_codes")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_feedback_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_feedback_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(
        "ix_feedback_organization_id_created_at",
        "feedback",
        ["organization_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_feedback_product_id"), "feedback", ["product_id"], unique=False)
    for table in ("item_scans", "feedback"):
        for statement in append_only_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_product_id"), table_name="feedback")
    op.drop_index("ix_feedback_organization_id_created_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_item_scans_item_id_client_hash", table_name="item_scans")
    op.drop_table("item_scans")
    op.drop_table("item_codes")
    op.drop_index(op.f("ix_code_issuances_batch_id"), table_name="code_issuances")
    op.drop_table("code_issuances")
    op.drop_table("batches")
    op.drop_index(op.f("ix_products_organization_id"), table_name="products")
    op.drop_table("products")
