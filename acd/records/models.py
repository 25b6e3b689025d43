"""The records schema as typed SQLAlchemy models: the one source that migrations must match.

Config tables (queues, skills, agents and their skills) use the config's own names as keys, so a
record can reference them without a lookup and a report reads plainly. They are never deleted:
history references them; ``configured`` says whether the current config still has them.

CHECK constraints state what a valid record is, so bad data cannot enter. Constraint names are
explicit (``ck_<table>_<rule>``) because the outbox quarantines a refused record with the
database's message, and a named rule is what an operator can act on.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OUTCOMES = ("answered", "abandoned", "overflowed", "failed", "moved")  # moved: left for another queue
OFFER_RESULTS = ("answered", "rejected", "unanswered", "failed", "cancelled", "fenced")  # fenced: an old term's ring
SEGMENT_KINDS = ("talk", "consult")
TRANSFER_KINDS = ("blind", "attended")
AGENT_STATES = ("logged_out", "ready", "reserved", "on_call", "wrap_up", "paused")
CUSTOMER_TIERS = ("standard", "premium", "vip")
MAX_CUSTOMER_NOTES = 4000
API_ROLES = ("agent", "supervisor", "admin", "wallboard")  # wallboard: read-only, for wall screens

TZ = DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...], nullable: bool = True) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    rule = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {rule}" if nullable else rule


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"{c}_non_negative") for c in columns]


def _ordered(earlier: str, later: str) -> CheckConstraint:
    return CheckConstraint(f"{later} IS NULL OR {later} >= {earlier}", name=f"{later}_after_{earlier}")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Queue(Base):
    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint("sla_target_ratio >= 0 AND sla_target_ratio <= 1", name="sla_target_ratio_range"),
        *_non_negative("sla_threshold_seconds", "max_wait_seconds", "wrapup_seconds", "max_handle_seconds"),
    )

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    sla_threshold_seconds: Mapped[float] = mapped_column(Double, server_default=text("20"))
    sla_target_ratio: Mapped[float] = mapped_column(Double, server_default=text("0.8"))
    max_wait_seconds: Mapped[float] = mapped_column(Double, server_default=text("300"))
    overflow_target: Mapped[str] = mapped_column(Text, server_default=text("''"))
    wrapup_seconds: Mapped[float] = mapped_column(Double, server_default=text("0"))
    max_handle_seconds: Mapped[float] = mapped_column(Double, server_default=text("600"))
    configured: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Skill(Base):
    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    configured: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, server_default=text("''"))
    endpoint: Mapped[str | None] = mapped_column(Text)  # NULL for an agent known only from records
    configured: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 5", name="proficiency_range"),)

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(ForeignKey("skills.name", ondelete="CASCADE"), primary_key=True)
    proficiency: Mapped[int] = mapped_column(Integer)


class QueueSkill(Base):
    __tablename__ = "queue_skills"
    __table_args__ = (CheckConstraint("min_proficiency BETWEEN 1 AND 5", name="min_proficiency_range"),)

    queue: Mapped[str] = mapped_column(ForeignKey("queues.name", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(ForeignKey("skills.name", ondelete="CASCADE"), primary_key=True)
    min_proficiency: Mapped[int] = mapped_column(Integer)


class Customer(Base):
    """Caller number → customer, shown to agents. History is their interactions (by customer_id).

    ``phone_number`` is the first number (the directory's key); further ones are ``customer_numbers``.
    """

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_in("tier", CUSTOMER_TIERS, nullable=False), name="tier_known"),
        CheckConstraint(f"length(notes) <= {MAX_CUSTOMER_NOTES}", name="notes_bounded"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=func.gen_random_uuid())
    phone_number: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, server_default=text("''"))
    tier: Mapped[str] = mapped_column(Text, server_default=text("'standard'"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    notes: Mapped[str] = mapped_column(Text, server_default=text("''"))  # the agents' free text
    consent_recording: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    consent_marketing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class ScheduledCallback(Base):
    """A call asked for at a time (docs/api.md, "Scheduled callbacks"): it enters ``queue`` at ``at``
    as the interaction of the same id. Pending while not cancelled and no interaction has its id."""

    __tablename__ = "scheduled_callbacks"
    __table_args__ = (
        CheckConstraint("number ~ '^[0-9]{1,32}$'", name="number_digits"),
        CheckConstraint("length(customer) <= 200 AND length(note) <= 1000", name="text_bounded"),
        CheckConstraint("length(closed_reason) <= 64", name="closed_reason_bounded"),
        Index("ix_scheduled_callbacks_pending", "at", postgresql_where=text("cancelled_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    queue: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TZ)
    customer: Mapped[str] = mapped_column(Text, server_default=text("''"))  # a name to show, if given
    note: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)  # the token id of who asked
    cancelled_at: Mapped[datetime | None] = mapped_column(TZ)
    # closed before it entered: queue_removed, number_not_allowed (empty: called off through the API)
    closed_reason: Mapped[str] = mapped_column(Text, server_default=text("''"))


class Lease(Base):
    """Who leads the ACD (docs/standby.md): one row per lease, its holder, its epoch (the fencing token,
    one more at every acquisition) and its deadline on the database's clock."""

    __tablename__ = "leases"
    __table_args__ = (
        CheckConstraint("epoch >= 1", name="epoch_positive"),
        CheckConstraint("length(name) <= 64 AND length(holder) <= 200", name="text_bounded"),
    )

    name: Mapped[str] = mapped_column(Text, primary_key=True)  # "routing"
    holder: Mapped[str] = mapped_column(Text)  # the leading instance's name ([cluster] instance)
    epoch: Mapped[int] = mapped_column(BigInteger)
    acquired_at: Mapped[datetime] = mapped_column(TZ)  # when this epoch began
    renewed_at: Mapped[datetime] = mapped_column(TZ)  # the holder's last renewal
    expires_at: Mapped[datetime] = mapped_column(TZ)  # lapsed once the database's now() reaches it


class LeaseTerm(Base):
    """Every term of a lease: its epoch and when it began, on the database's clock (docs/standby.md,
    "Records reconciled by epoch"). Written by a trigger on ``leases`` whenever its epoch changes, so
    the records can tell what an old leader wrote after a newer term began."""

    __tablename__ = "lease_terms"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    began_at: Mapped[datetime] = mapped_column(TZ)


class Member(Base):
    """One ACD process sharing the database (docs/standby.md, "Members"): its heartbeat, written with each
    of its lease attempts or renewals; a leader that sees no other live member routes on through an outage."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("role IN ('leader', 'standby')", name="role_known"),
        CheckConstraint("length(instance) <= 200 AND length(version) <= 64", name="text_bounded"),
    )

    instance: Mapped[str] = mapped_column(Text, primary_key=True)  # [cluster] instance
    role: Mapped[str] = mapped_column(Text)  # after its last attempt: leader or standby
    last_seen: Mapped[datetime] = mapped_column(TZ)  # its last heartbeat, on the database's clock
    started_at: Mapped[datetime] = mapped_column(TZ)  # the first heartbeat of this process
    version: Mapped[str] = mapped_column(Text)  # acd's version


class CustomerNumber(Base):
    """A customer's further numbers (``customers.phone_number`` is the first); one customer per number."""

    __tablename__ = "customer_numbers"

    number: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class CustomerChange(Base):
    """One change of a customer record by a person: who (token id and label, role, agent), when, fields old → new."""

    __tablename__ = "customer_changes"
    __table_args__ = (Index("ix_customer_changes_customer_id_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    token_id: Mapped[str] = mapped_column(Text)
    token_label: Mapped[str] = mapped_column(Text, server_default=text("''"))
    role: Mapped[str] = mapped_column(Text)
    actor_agent_id: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, object]] = mapped_column(JSONB)  # {"field": {"old": …, "new": …}}


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome_known"),
        CheckConstraint(
            "outcome IS DISTINCT FROM 'answered' OR answered_at IS NOT NULL", name="answered_has_answered_at"
        ),
        CheckConstraint("answered_at IS NULL OR outcome = 'answered'", name="answered_at_only_if_answered"),
        CheckConstraint("ended_at IS NULL OR outcome IS NOT NULL", name="ended_has_outcome"),
        CheckConstraint("within_sla IS NOT TRUE OR outcome = 'answered'", name="within_sla_only_if_answered"),
        _ordered("arrived_at", "answered_at"),
        _ordered("arrived_at", "ended_at"),
        _ordered("answered_at", "ended_at"),
        *_non_negative("wait_seconds", "talk_seconds", "wrapup_seconds", "sla_threshold_seconds"),
        Index("ix_interactions_arrived_at", "arrived_at"),
        Index("ix_interactions_queue_arrived_at", "queue", "arrived_at"),
        Index("ix_interactions_agent_id_arrived_at", "agent_id", "arrived_at"),
        Index("ix_interactions_customer_id_arrived_at", "customer_id", "arrived_at"),
        # pending callbacks (docs/records.md, "Callbacks"): what a restarted ACD loads back, in order
        Index(
            "ix_interactions_pending_callbacks",
            "queue",
            "priority",
            "arrived_at",
            postgresql_where=text("end_reason = 'callback' AND ended_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    uniqueid: Mapped[str] = mapped_column(Text, server_default=text("''"))
    linkedid: Mapped[str] = mapped_column(Text, server_default=text("''"))
    caller: Mapped[str] = mapped_column(Text)
    queue: Mapped[str] = mapped_column(ForeignKey("queues.name"))
    priority: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    arrived_at: Mapped[datetime] = mapped_column(TZ)
    # when the caller first entered the ACD (the first stay's arrived_at; null in rows written before)
    first_arrived_at: Mapped[datetime | None] = mapped_column(TZ)
    answered_at: Mapped[datetime | None] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    outcome: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    wait_seconds: Mapped[float | None] = mapped_column(Double)
    talk_seconds: Mapped[float | None] = mapped_column(Double)
    wrapup_seconds: Mapped[float | None] = mapped_column(Double)
    within_sla: Mapped[bool | None] = mapped_column(Boolean)
    sla_threshold_seconds: Mapped[float] = mapped_column(Double)
    end_reason: Mapped[str] = mapped_column(Text, server_default=text("''"))
    disposition: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # a callback's number keyed in by the caller instead of their own (docs/records.md, "Callbacks")
    callback_number: Mapped[str] = mapped_column(Text, server_default=text("''"))
    # the PBX the caller's channel was on (docs/pbxs.md, docs/records.md): null in rows written before 0035
    pbx: Mapped[str | None] = mapped_column(Text)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint(_in("result", OFFER_RESULTS), name="result_known"),
        CheckConstraint("(result IS NULL) = (ended_at IS NULL)", name="result_iff_ended"),
        _ordered("offered_at", "ended_at"),
        *_non_negative("ring_seconds"),
        Index("ix_offers_interaction_id", "interaction_id"),
        Index("ix_offers_agent_id_offered_at", "agent_id", "offered_at"),
        Index("ix_offers_open", "offered_at", postgresql_where=text("ended_at IS NULL")),  # rings left open
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    offered_at: Mapped[datetime] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    result: Mapped[str | None] = mapped_column(Text)
    ring_seconds: Mapped[float | None] = mapped_column(Double)


class Segment(Base):
    """One agent's talk within a transferred interaction (docs/records.md, "Segments")."""

    __tablename__ = "interaction_segments"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint(_in("kind", SEGMENT_KINDS, nullable=False), name="kind_known"),
        CheckConstraint(_in("transfer_kind", TRANSFER_KINDS), name="transfer_kind_known"),
        _ordered("started_at", "ended_at"),
        Index("ix_interaction_segments_interaction_id", "interaction_id"),
        Index("ix_interaction_segments_agent_id_started_at", "agent_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    stay_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    queue: Mapped[str] = mapped_column(ForeignKey("queues.name"))
    started_at: Mapped[datetime] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    transfer_kind: Mapped[str | None] = mapped_column(Text)
    transfer_target: Mapped[str] = mapped_column(Text, server_default=text("''"))


class AgentState(Base):
    __tablename__ = "agent_states"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint(_in("state", AGENT_STATES, nullable=False), name="state_known"),
        _ordered("started_at", "ended_at"),
        Index("ix_agent_states_agent_id_started_at", "agent_id", "started_at"),
        Index("ix_agent_states_started_at", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    state: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, server_default=text("''"))
    started_at: Mapped[datetime] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)


class Recording(Base):
    """A call's recording (docs/records.md, "Recordings"): the file the PBX wrote, its length and
    checksum. Retention deletes the file and sets ``deleted_at``; the row stays."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint("file ~ '^[0-9]{1,20}\\.[0-9]{1,20}\\.wav$'", name="file_plain"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        *_non_negative("seconds"),
        _ordered("started_at", "deleted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    file: Mapped[str] = mapped_column(Text)  # the name in the recordings directory: <agent leg Uniqueid>.wav
    started_at: Mapped[datetime] = mapped_column(TZ)
    seconds: Mapped[float] = mapped_column(Double)
    sha256: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(TZ)  # retention deleted the file


class RecordingPause(Base):
    """A stretch of a recording that was paused: offsets in seconds from the recording's start."""

    __tablename__ = "recording_pauses"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        *_non_negative("start_offset"),
        CheckConstraint("end_offset >= start_offset", name="end_offset_after_start_offset"),
        Index("ix_recording_pauses_interaction_id", "interaction_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # the leadership term that wrote this version (docs/standby.md, "Records reconciled by epoch"): 0 before 0033
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    start_offset: Mapped[float] = mapped_column(Double)
    end_offset: Mapped[float] = mapped_column(Double)


class ApiToken(Base):
    """A bearer token of the REST API. Only the SHA-256 of its secret is kept (``acd.records.stores.tokens``)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_in("role", API_ROLES, nullable=False), name="role_known"),
        CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name="agent_has_agent_id"),
        CheckConstraint("octet_length(secret_sha256) = 32", name="secret_sha256_length"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(Text)  # the agent an ``agent`` token acts as
    queues: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))  # a supervisor's
    label: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class AuditEntry(Base):
    """One change made through the REST API: who (token, role, agent), what, on what, when, result."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_token_id_at", "token_id", "at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(TZ)
    token_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    actor_agent_id: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'"))
    status: Mapped[int] = mapped_column(Integer)


class ConfigRevision(Base):
    """The whole routing config (skills, queues, agents in acd.toml's shape) after a change made through
    the REST API. The latest revision is in force at start-up, instead of the file's sections."""

    __tablename__ = "config_revisions"
    __table_args__ = (CheckConstraint("revision >= 1", name="revision_positive"),)

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    token_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # e.g. "queue.create"
    target: Mapped[str] = mapped_column(Text)  # e.g. the queue's name
    document: Mapped[dict[str, object]] = mapped_column(JSONB)
