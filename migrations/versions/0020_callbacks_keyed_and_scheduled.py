"""Callbacks to another number, and scheduled callbacks (docs/records.md, "Callbacks").

- ``interactions.callback_number``: the number a caller keyed in for their callback instead of their
  own, kept on the pending callback's open row so that a restarted ACD calls back the number the
  caller asked for. Empty: the number they called from.
- ``scheduled_callbacks``: a call asked for at a time (docs/api.md, "Scheduled callbacks"); it enters
  its queue at that time as the interaction of the same id, so a restarted ACD schedules again the
  rows not cancelled that have no interaction yet.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07 07:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("callback_number", sa.Text(), server_default=sa.text("''"), nullable=False))

    op.create_table(
        "scheduled_callbacks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number ~ '^[0-9]{1,32}$'", name=op.f("ck_scheduled_callbacks_number_digits")),
        sa.CheckConstraint(
            "length(customer) <= 200 AND length(note) <= 1000", name=op.f("ck_scheduled_callbacks_text_bounded")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_callbacks")),
    )
    op.create_index(
        "ix_scheduled_callbacks_pending",
        "scheduled_callbacks",
        ["at"],
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_callbacks_pending", table_name="scheduled_callbacks")
    op.drop_table("scheduled_callbacks")
    op.drop_column("interactions", "callback_number")
