"""Records schema: config tables, customers, interactions, offers, agent state intervals.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 20:52:33.805828
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("configured", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("tier", sa.Text(), server_default=sa.text("'standard'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("tier IN ('standard', 'premium', 'vip')", name=op.f("ck_customers_tier_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("phone_number", name=op.f("uq_customers_phone_number")),
    )
    op.create_table(
        "queues",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sla_threshold_seconds", sa.Double(), server_default=sa.text("20"), nullable=False),
        sa.Column("sla_target_ratio", sa.Double(), server_default=sa.text("0.8"), nullable=False),
        sa.Column("max_wait_seconds", sa.Double(), server_default=sa.text("300"), nullable=False),
        sa.Column("overflow_target", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("wrapup_seconds", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_handle_seconds", sa.Double(), server_default=sa.text("600"), nullable=False),
        sa.Column("configured", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "max_handle_seconds IS NULL OR max_handle_seconds >= 0",
            name=op.f("ck_queues_max_handle_seconds_non_negative"),
        ),
        sa.CheckConstraint(
            "max_wait_seconds IS NULL OR max_wait_seconds >= 0", name=op.f("ck_queues_max_wait_seconds_non_negative")
        ),
        sa.CheckConstraint(
            "sla_target_ratio >= 0 AND sla_target_ratio <= 1", name=op.f("ck_queues_sla_target_ratio_range")
        ),
        sa.CheckConstraint(
            "sla_threshold_seconds IS NULL OR sla_threshold_seconds >= 0",
            name=op.f("ck_queues_sla_threshold_seconds_non_negative"),
        ),
        sa.CheckConstraint(
            "wrapup_seconds IS NULL OR wrapup_seconds >= 0", name=op.f("ck_queues_wrapup_seconds_non_negative")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "skills",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("configured", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_skills")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("skill", sa.Text(), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.CheckConstraint("proficiency BETWEEN 1 AND 5", name=op.f("ck_agent_skills_proficiency_range")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_skills_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill"], ["skills.name"], name=op.f("fk_agent_skills_skill_skills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "agent_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('logged_out', 'ready', 'reserved', 'on_call', 'wrap_up', 'paused')",
            name=op.f("ck_agent_states_state_known"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_agent_states_ended_at_after_started_at")
        ),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_agent_states_seq_non_negative")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_agent_states_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_states")),
    )
    op.create_index("ix_agent_states_agent_id_started_at", "agent_states", ["agent_id", "started_at"], unique=False)
    op.create_index("ix_agent_states_started_at", "agent_states", ["started_at"], unique=False)
    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("uniqueid", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("linkedid", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("caller", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("talk_seconds", sa.Double(), nullable=True),
        sa.Column("wrapup_seconds", sa.Double(), nullable=True),
        sa.Column("within_sla", sa.Boolean(), nullable=True),
        sa.Column("sla_threshold_seconds", sa.Double(), nullable=False),
        sa.Column("end_reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "answered_at IS NULL OR outcome = 'answered'", name=op.f("ck_interactions_answered_at_only_if_answered")
        ),
        sa.CheckConstraint(
            "outcome IS DISTINCT FROM 'answered' OR answered_at IS NOT NULL",
            name=op.f("ck_interactions_answered_has_answered_at"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('answered', 'abandoned', 'overflowed', 'failed')",
            name=op.f("ck_interactions_outcome_known"),
        ),
        sa.CheckConstraint(
            "within_sla IS NOT TRUE OR outcome = 'answered'", name=op.f("ck_interactions_within_sla_only_if_answered")
        ),
        sa.CheckConstraint(
            "answered_at IS NULL OR answered_at >= arrived_at",
            name=op.f("ck_interactions_answered_at_after_arrived_at"),
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= answered_at", name=op.f("ck_interactions_ended_at_after_answered_at")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= arrived_at", name=op.f("ck_interactions_ended_at_after_arrived_at")
        ),
        sa.CheckConstraint("ended_at IS NULL OR outcome IS NOT NULL", name=op.f("ck_interactions_ended_has_outcome")),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_interactions_seq_non_negative")),
        sa.CheckConstraint(
            "sla_threshold_seconds IS NULL OR sla_threshold_seconds >= 0",
            name=op.f("ck_interactions_sla_threshold_seconds_non_negative"),
        ),
        sa.CheckConstraint(
            "talk_seconds IS NULL OR talk_seconds >= 0", name=op.f("ck_interactions_talk_seconds_non_negative")
        ),
        sa.CheckConstraint(
            "wait_seconds IS NULL OR wait_seconds >= 0", name=op.f("ck_interactions_wait_seconds_non_negative")
        ),
        sa.CheckConstraint(
            "wrapup_seconds IS NULL OR wrapup_seconds >= 0", name=op.f("ck_interactions_wrapup_seconds_non_negative")
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_interactions_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["queue"], ["queues.name"], name=op.f("fk_interactions_queue_queues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    op.create_index("ix_interactions_agent_id_arrived_at", "interactions", ["agent_id", "arrived_at"], unique=False)
    op.create_index("ix_interactions_arrived_at", "interactions", ["arrived_at"], unique=False)
    op.create_index(
        "ix_interactions_customer_id_arrived_at", "interactions", ["customer_id", "arrived_at"], unique=False
    )
    op.create_index("ix_interactions_queue_arrived_at", "interactions", ["queue", "arrived_at"], unique=False)
    op.create_table(
        "queue_skills",
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("skill", sa.Text(), nullable=False),
        sa.Column("min_proficiency", sa.Integer(), nullable=False),
        sa.CheckConstraint("min_proficiency BETWEEN 1 AND 5", name=op.f("ck_queue_skills_min_proficiency_range")),
        sa.ForeignKeyConstraint(
            ["queue"], ["queues.name"], name=op.f("fk_queue_skills_queue_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill"], ["skills.name"], name=op.f("fk_queue_skills_skill_skills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("queue", "skill", name=op.f("pk_queue_skills")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("ring_seconds", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('answered', 'rejected', 'unanswered', 'failed', 'cancelled')",
            name=op.f("ck_offers_result_known"),
        ),
        sa.CheckConstraint("(result IS NULL) = (ended_at IS NULL)", name=op.f("ck_offers_result_iff_ended")),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= offered_at", name=op.f("ck_offers_ended_at_after_offered_at")
        ),
        sa.CheckConstraint(
            "ring_seconds IS NULL OR ring_seconds >= 0", name=op.f("ck_offers_ring_seconds_non_negative")
        ),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_offers_seq_non_negative")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_offers_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_offers_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_agent_id_offered_at", "offers", ["agent_id", "offered_at"], unique=False)
    op.create_index("ix_offers_interaction_id", "offers", ["interaction_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_offers_interaction_id", table_name="offers")
    op.drop_index("ix_offers_agent_id_offered_at", table_name="offers")
    op.drop_table("offers")
    op.drop_table("queue_skills")
    op.drop_index("ix_interactions_queue_arrived_at", table_name="interactions")
    op.drop_index("ix_interactions_customer_id_arrived_at", table_name="interactions")
    op.drop_index("ix_interactions_arrived_at", table_name="interactions")
    op.drop_index("ix_interactions_agent_id_arrived_at", table_name="interactions")
    op.drop_table("interactions")
    op.drop_index("ix_agent_states_started_at", table_name="agent_states")
    op.drop_index("ix_agent_states_agent_id_started_at", table_name="agent_states")
    op.drop_table("agent_states")
    op.drop_table("agent_skills")
    op.drop_table("skills")
    op.drop_table("queues")
    op.drop_table("customers")
    op.drop_table("agents")
