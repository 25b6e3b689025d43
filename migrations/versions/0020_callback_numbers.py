"""Callbacks to another number: the number a caller keyed in for their callback instead of their own
(docs/records.md, "Callbacks"), kept on the pending callback's open row so that a restarted ACD calls
back the number the caller asked for. Empty: the number they called from.

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-07 07:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("callback_number", sa.Text(), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    op.drop_column("interactions", "callback_number")
