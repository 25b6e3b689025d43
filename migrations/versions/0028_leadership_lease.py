"""The leadership lease (docs/standby.md): which ACD process routes, under which epoch.

- ``leases``: one row per lease (``routing``): the holder, the epoch (the fencing token written to the
  PBX; one more at every acquisition) and the deadline, on the database's clock.

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-07 13:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("epoch >= 1", name=op.f("ck_leases_epoch_positive")),
        sa.CheckConstraint("length(name) <= 64 AND length(holder) <= 200", name=op.f("ck_leases_text_bounded")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
