"""The members' heartbeat (docs/standby.md, "Members"): every ACD process sharing the database, seen when.

- ``members``: one row per instance name: its role after its last attempt on the lease (``leader`` or
  ``standby``), ``last_seen`` on the database's clock (written in the same statement as each lease
  attempt or renewal), when the process started, and its version. A leader's renewal reads in the same
  round trip whether another member is live; a leader that saw none routes on through a PostgreSQL
  outage. A member that stops cleanly deletes its row.

Revision ID: 0031
Revises: 0028
Create Date: 2026-12-07 14:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("instance", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.CheckConstraint("role IN ('leader', 'standby')", name=op.f("ck_members_role_known")),
        sa.CheckConstraint("length(instance) <= 200 AND length(version) <= 64", name=op.f("ck_members_text_bounded")),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_members")),
    )


def downgrade() -> None:
    op.drop_table("members")
