"""Records reconciled by epoch (docs/standby.md, "Records reconciled by epoch").

- ``epoch`` on every table the outbox upserts (``interactions``, ``offers``, ``agent_states``,
  ``recordings``, ``recording_pauses``, ``interaction_segments``): the leadership term whose process
  journaled that version of the row; 0 for the rows written before this migration. The upsert orders
  versions by ``(epoch, seq)``, so an old leader's journal that drains late never overwrites what a
  newer term wrote.
- ``lease_terms``: one row per term of a lease (its epoch, holder, and when it began on the database's
  clock), written by a trigger on ``leases`` whenever the epoch changes (the lease statement itself is
  unchanged); the current term is copied in at once.
- ``offers.result`` may be ``fenced``: a ring an old leader journaled after a newer term began (the
  PBX refused it; it is nobody's miss).

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-07 20:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("interactions", "offers", "agent_states", "recordings", "recording_pauses", "interaction_segments")
RESULTS_BEFORE = "'answered', 'rejected', 'unanswered', 'failed', 'cancelled'"

TERM_FUNCTION = """
CREATE FUNCTION acd_lease_term() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.epoch IS DISTINCT FROM OLD.epoch THEN
        INSERT INTO lease_terms (name, epoch, holder, began_at)
        VALUES (NEW.name, NEW.epoch, NEW.holder, NEW.acquired_at)
        ON CONFLICT (name, epoch) DO UPDATE SET holder = excluded.holder, began_at = excluded.began_at;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("epoch", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.create_table(
        "lease_terms",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("began_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "epoch", name=op.f("pk_lease_terms")),
    )
    op.execute(
        "INSERT INTO lease_terms (name, epoch, holder, began_at) SELECT name, epoch, holder, acquired_at FROM leases"
    )
    op.execute(TERM_FUNCTION)
    op.execute(
        "CREATE TRIGGER acd_lease_term AFTER INSERT OR UPDATE OF epoch ON leases "
        "FOR EACH ROW EXECUTE FUNCTION acd_lease_term()"
    )
    op.drop_constraint(op.f("ck_offers_result_known"), "offers", type_="check")
    op.create_check_constraint(
        op.f("ck_offers_result_known"), "offers", f"result IS NULL OR result IN ({RESULTS_BEFORE}, 'fenced')"
    )


def downgrade() -> None:
    op.execute("UPDATE offers SET result = 'cancelled' WHERE result = 'fenced'")
    op.drop_constraint(op.f("ck_offers_result_known"), "offers", type_="check")
    op.create_check_constraint(
        op.f("ck_offers_result_known"), "offers", f"result IS NULL OR result IN ({RESULTS_BEFORE})"
    )
    op.execute("DROP TRIGGER acd_lease_term ON leases")
    op.execute("DROP FUNCTION acd_lease_term()")
    op.drop_table("lease_terms")
    for table in TABLES:
        op.drop_column(table, "epoch")
