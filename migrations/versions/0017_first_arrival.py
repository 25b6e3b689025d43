"""The caller's first arrival on every stay: a transferred, overflowed or moved caller's later stays keep
when the call first entered the ACD (docs/records.md, "Interactions"; docs/kpis.md, "The caller's wait
so far"). Null in rows written before.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("first_arrived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("interactions", "first_arrived_at")
