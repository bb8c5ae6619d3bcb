"""signal clients: the IPv6 /48 of anonymous scans and feedback (SPEC §10)

Revision ID: 0504
Revises: 0602
Create Date: 2026-11-30 18:00:00

Scans and feedback keep their per-/64 client hash (rate limits and `suspicious`,
SPEC §8) and gain `client_net`, the keyed hash of an IPv6 client's /48, which
the signal series count (`coalesce(client_net, client_hash)`: IPv4 rows leave it
null, their address hash being the client already). Rows stored before this
revision have no /48 and count per /64. Adding a nullable column without a
default rewrites nothing (the scans' partitions included).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0504"
down_revision: str | Sequence[str] | None = "0602"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("item_scans", sa.Column("client_net", sa.LargeBinary(), nullable=True))
    op.add_column("feedback", sa.Column("client_net", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("feedback", "client_net")
    op.drop_column("item_scans", "client_net")
