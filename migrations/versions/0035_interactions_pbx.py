"""The PBX of each interaction (docs/pbxs.md, docs/records.md, "interactions").

With several PBXs behind one ACD a record says which PBX the caller's channel was on, so that the
calls a lost PBX took with it (end reason ``pbx_lost``) can be told apart and Kamailio's spread read
back. Nullable: rows written before say nothing. ``end_reason`` has no CHECK constraint; ``pbx_lost``
needs none.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-08 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | Sequence[str] | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("pbx", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("interactions", "pbx")
