"""foundation: organizations, API keys, the audit chain, the service role

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:04:18.118312
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.migrations import append_only_statements

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SERVICE_ROLE = "qcr_service"


def upgrade() -> None:
    # The role requests run as (its logins are members of it). It gets no
    # ownership: the schema and its triggers belong to the role running this.
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SERVICE_ROLE}') "
        f"THEN CREATE ROLE {SERVICE_ROLE} NOLOGIN; END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {SERVICE_ROLE}")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVICE_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {SERVICE_ROLE}"
    )
    op.execute(f"GRANT SELECT ON alembic_version TO {SERVICE_ROLE}")
    # Characters and character pairs of a name, for substring search in Chinese.
    op.execute(
        """
        CREATE FUNCTION qcr_ngrams(t text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
                SELECT substr(lower(t), i, 1) AS g FROM generate_series(1, length(t)) AS i
                UNION ALL
                SELECT substr(lower(t), i, 2) FROM generate_series(1, length(t) - 1) AS i
            ) AS grams
        $$
        """
    )
    # Append-only tables call this from BEFORE UPDATE/DELETE/TRUNCATE triggers.
    op.execute(
        """
        CREATE FUNCTION qcr_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on % is not allowed: the table is append-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.create_table(
        "api_keys",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(role = 'enterprise') = (uscc IS NOT NULL)", name=op.f("ck_api_keys_enterprise_uscc")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'regulator', 'partner', 'enterprise')", name=op.f("ck_api_keys_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_key_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_index(
        "ix_audit_entries_entity_entity_id", "audit_entries", ["entity", "entity_id"], unique=False
    )
    op.create_table(
        "organizations",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("org_code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("legal_representative", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
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
            "status IN ('active', 'deregistered')", name=op.f("ck_organizations_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("org_code", name=op.f("uq_organizations_org_code")),
        sa.UniqueConstraint("uscc", name=op.f("uq_organizations_uscc")),
    )
    op.create_index(
        "ix_organizations_region_code",
        "organizations",
        ["region_code"],
        unique=False,
        postgresql_ops={"region_code": "text_pattern_ops"},
    )
    op.execute(
        "CREATE INDEX ix_organizations_name_ngrams ON organizations USING gin (qcr_ngrams(name))"
    )
    for statement in append_only_statements("audit_entries"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_organizations_name_ngrams", table_name="organizations")
    op.drop_index(
        "ix_organizations_region_code",
        table_name="organizations",
        postgresql_ops={"region_code": "text_pattern_ops"},
    )
    op.drop_table("organizations")
    op.drop_index("ix_audit_entries_entity_entity_id", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("api_keys")
    op.execute("DROP FUNCTION qcr_refuse_change()")
    op.execute("DROP FUNCTION qcr_ngrams(text)")
    op.execute(f"REVOKE SELECT ON alembic_version FROM {SERVICE_ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {SERVICE_ROLE}"
    )
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {SERVICE_ROLE}"
    )
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {SERVICE_ROLE}")
