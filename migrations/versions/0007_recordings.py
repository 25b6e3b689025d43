"""Call recordings: the file of each recorded call (length, checksum, deleted by retention) and where
it was paused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_recordings_seq_non_negative")),
        sa.CheckConstraint("file ~ '^[0-9]{1,20}\\.[0-9]{1,20}\\.wav$'", name=op.f("ck_recordings_file_plain")),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_recordings_sha256_hex")),
        sa.CheckConstraint("seconds IS NULL OR seconds >= 0", name=op.f("ck_recordings_seconds_non_negative")),
        sa.CheckConstraint(
            "deleted_at IS NULL OR deleted_at >= started_at", name=op.f("ck_recordings_deleted_at_after_started_at")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["interactions.id"], name=op.f("fk_recordings_id_interactions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_table(
        "recording_pauses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("start_offset", sa.Double(), nullable=False),
        sa.Column("end_offset", sa.Double(), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_recording_pauses_seq_non_negative")),
        sa.CheckConstraint(
            "start_offset IS NULL OR start_offset >= 0", name=op.f("ck_recording_pauses_start_offset_non_negative")
        ),
        sa.CheckConstraint(
            "end_offset >= start_offset", name=op.f("ck_recording_pauses_end_offset_after_start_offset")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_recording_pauses_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_pauses")),
    )
    op.create_index(op.f("ix_recording_pauses_interaction_id"), "recording_pauses", ["interaction_id"])


def downgrade() -> None:
    op.drop_table("recording_pauses")
    op.drop_table("recordings")
