"""Offers still open, by when they were made (docs/records.md, "Offers a stopped process left open").

The leader's job that closes the offers a stopped process left open looks for open offers of an older
term, oldest first, every minute: without this partial index that is a scan of every offer ever made. The
index holds only the open ones (a handful: the rings in progress and what a killed process left).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_offers_open", "offers", ["offered_at"], postgresql_where=sa.text("ended_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_offers_open", table_name="offers")
