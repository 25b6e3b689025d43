"""Customer records kept by agents: notes, consent flags, further numbers and the history of changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 02:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("notes", sa.Text(), server_default=sa.text("''"), nullable=False))
    op.add_column(
        "customers", sa.Column("consent_recording", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column(
        "customers", sa.Column("consent_marketing", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.create_check_constraint(op.f("ck_customers_notes_bounded"), "customers", "length(notes) <= 4000")
    op.create_table(
        "customer_numbers",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_numbers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_customer_numbers")),
    )
    op.create_index(op.f("ix_customer_numbers_customer_id"), "customer_numbers", ["customer_id"])
    op.create_table(
        "customer_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("token_id", sa.Text(), nullable=False),
        sa.Column("token_label", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("actor_agent_id", sa.Text(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_changes")),
    )
    op.create_index("ix_customer_changes_customer_id_at", "customer_changes", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_table("customer_changes")
    op.drop_table("customer_numbers")
    op.drop_constraint(op.f("ck_customers_notes_bounded"), "customers", type_="check")
    op.drop_column("customers", "consent_marketing")
    op.drop_column("customers", "consent_recording")
    op.drop_column("customers", "notes")
