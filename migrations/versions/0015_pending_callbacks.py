"""Callbacks: a pending callback is its interaction's open row with end reason ``callback`` (the
caller took a callback and keeps their place: docs/records.md, "Callbacks"); this index is how a
restarted ACD finds them, in their order, to load them back.

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-07 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_pending_callbacks",
        "interactions",
        ["queue", "priority", "arrived_at"],
        postgresql_where=sa.text("end_reason = 'callback' AND ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_pending_callbacks", table_name="interactions")
