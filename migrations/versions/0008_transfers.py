"""Transfers: the segments of a transferred interaction (who talked to the caller, from when to when,
and how each talk ended: the transfer's kind and target). docs/records.md, "Segments".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interaction_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("stay_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transfer_kind", sa.Text(), nullable=True),
        sa.Column("transfer_target", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_interaction_segments_seq_non_negative")),
        sa.CheckConstraint("kind IN ('talk', 'consult')", name=op.f("ck_interaction_segments_kind_known")),
        sa.CheckConstraint(
            "transfer_kind IS NULL OR transfer_kind IN ('blind', 'attended')",
            name=op.f("ck_interaction_segments_transfer_kind_known"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_interaction_segments_ended_at_after_started_at")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_segments_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_interaction_segments_agent_id_agents")),
        sa.ForeignKeyConstraint(["queue"], ["queues.name"], name=op.f("fk_interaction_segments_queue_queues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_segments")),
    )
    op.create_index(op.f("ix_interaction_segments_interaction_id"), "interaction_segments", ["interaction_id"])
    op.create_index(
        op.f("ix_interaction_segments_agent_id_started_at"), "interaction_segments", ["agent_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_interaction_segments_agent_id_started_at"), table_name="interaction_segments")
    op.drop_index(op.f("ix_interaction_segments_interaction_id"), table_name="interaction_segments")
    op.drop_table("interaction_segments")
