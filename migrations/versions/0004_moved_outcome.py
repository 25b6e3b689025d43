"""Interactions: outcome ``moved``, a caller's stay in a queue a supervisor moved them out of.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_interactions_outcome_known"


def _outcomes(*names: str) -> str:
    return "outcome IS NULL OR outcome IN (" + ", ".join(f"'{n}'" for n in names) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "interactions", type_="check")
    op.create_check_constraint(
        op.f(_NAME), "interactions", _outcomes("answered", "abandoned", "overflowed", "failed", "moved")
    )


def downgrade() -> None:
    op.execute("UPDATE interactions SET outcome = 'overflowed' WHERE outcome = 'moved'")
    op.drop_constraint(op.f(_NAME), "interactions", type_="check")
    op.create_check_constraint(op.f(_NAME), "interactions", _outcomes("answered", "abandoned", "overflowed", "failed"))
