"""scan day counters: the signal series' scans counted by the scan writer (issue #15)

Revision ID: 0701
Revises: 0504
Create Date: 2026-11-30 18:30:00

`scan_day_counts` (per local day × category × prefecture: distinct clients,
scans, the first item ids) and `scan_day_clients` (the clients already counted)
are added to by every batch of the scan writer (app/codes/daycounts.py), so the
night reads one row per key instead of the day's scans. `scan_counters.since`
is this revision's instant: days that began before it (this one included) are
counted from `item_scans` as before, later days from the counters; nothing is
backfilled.

`item_scan_clients.ordinal` numbers a code's kept clients 1, 2, … so the codes
with more clients than the suspicious threshold t are found by the index
(a client numbered t + 1), not by counting every code's clients. Existing rows
are numbered here (one pass over the kept clients, at most 32 per scanned code).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0701"
down_revision: str | Sequence[str] | None = "0504"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=4), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("item_scan_clients", sa.Column("ordinal", sa.SmallInteger(), nullable=True))
    op.execute(
        """
        UPDATE item_scan_clients k SET ordinal = r.n
        FROM (SELECT item_id, client_hash,
                     row_number() OVER (PARTITION BY item_id ORDER BY client_hash) AS n
              FROM item_scan_clients) AS r
        WHERE k.item_id = r.item_id AND k.client_hash = r.client_hash
        """
    )
    op.alter_column("item_scan_clients", "ordinal", nullable=False)
    op.create_index(
        "ix_item_scan_clients_ordinal_item_id", "item_scan_clients", ["ordinal", "item_id"]
    )
    op.create_table(
        "scan_day_counts",
        *_key_columns(),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("items", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "region", name=op.f("pk_scan_day_counts")),
    )
    op.create_table(
        "scan_day_clients",
        *_key_columns(),
        sa.Column("client", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "category", "region", "client", name=op.f("pk_scan_day_clients")
        ),
    )
    op.create_table(
        "scan_counters",
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("since", name=op.f("pk_scan_counters")),
    )
    op.execute("INSERT INTO scan_counters (since) VALUES (now())")


def downgrade() -> None:
    op.drop_table("scan_counters")
    op.drop_table("scan_day_clients")
    op.drop_table("scan_day_counts")
    op.drop_index("ix_item_scan_clients_ordinal_item_id", table_name="item_scan_clients")
    op.drop_column("item_scan_clients", "ordinal")
