"""API tokens: role ``wallboard``, read-only, for wall screens (the wallboard's stream and the status).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_api_tokens_role_known"


def _roles(*names: str) -> str:
    return "role IN (" + ", ".join(f"'{n}'" for n in names) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "api_tokens", type_="check")
    op.create_check_constraint(op.f(_NAME), "api_tokens", _roles("agent", "supervisor", "admin", "wallboard"))


def downgrade() -> None:
    # The old schema knows no read-only role: a wall screen's token goes (it would otherwise widen to another).
    op.execute("DELETE FROM api_tokens WHERE role = 'wallboard'")
    op.drop_constraint(op.f(_NAME), "api_tokens", type_="check")
    op.create_check_constraint(op.f(_NAME), "api_tokens", _roles("agent", "supervisor", "admin"))
