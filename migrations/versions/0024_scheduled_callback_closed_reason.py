"""Why a scheduled callback was closed before it entered its queue (docs/records.md, "Callbacks").

- ``scheduled_callbacks.closed_reason``: empty for one called off through the API (status
  ``cancelled``); ``queue_removed`` when its queue left the config before its time, or
  ``number_not_allowed`` when a restarted ACD read it back with a number the admin's patterns no longer
  allow. Such a row is closed (``cancelled_at`` set) instead of staying ``pending`` for ever.

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-07 10:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scheduled_callbacks",
        sa.Column("closed_reason", sa.Text(), server_default=sa.text("''"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_scheduled_callbacks_closed_reason_bounded"), "scheduled_callbacks", "length(closed_reason) <= 64"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_scheduled_callbacks_closed_reason_bounded"), "scheduled_callbacks", type_="check")
    op.drop_column("scheduled_callbacks", "closed_reason")
