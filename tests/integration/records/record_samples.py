"""Sample records for the records tests: valid by default, every field overridable."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.record_types import AgentStateRecord, InteractionRecord, OfferRecord

T0 = 1_780_000_000.0
NS = uuid.UUID("6f1c2a52-8c1e-4f4e-9a57-3b2d7d1c0a11")

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 2),), sla_threshold_seconds=20.0),
        QueueConfig("support", (SkillRequirement("support", 1), SkillRequirement("english", 3))),
    ),
    agents=(
        AgentConfig("a1", "PJSIP/agent1", (("billing", 3), ("english", 4)), name="Alice"),
        AgentConfig("a2", "PJSIP/agent2", (("support", 5),), name="Bob"),
    ),
)


def uid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def interaction(name: str, seq: int = 1, **kw: Any) -> InteractionRecord:
    base: dict[str, Any] = {
        "interaction_id": uid(name),
        "seq": seq,
        "queue": "billing",
        "priority": 5,
        "caller": "+15550001",
        "arrived_at": T0,
        "uniqueid": "1780000000.1",
        "linkedid": "1780000000.1",
    }
    return InteractionRecord(**{**base, **kw})


def answered(name: str, seq: int = 3, agent: str = "a1", **kw: Any) -> InteractionRecord:
    return interaction(
        name,
        seq,
        outcome="answered",
        agent_id=agent,
        answered_at=T0 + 12,
        ended_at=T0 + 200,
        wait_seconds=12.0,
        talk_seconds=188.0,
        wrapup_seconds=10.0,
        within_sla=True,
        disposition="resolved",
        notes="ok",
        **kw,
    )


def offer(name: str, interaction_name: str, seq: int = 1, agent: str = "a1", **kw: Any) -> OfferRecord:
    return OfferRecord(
        **{
            "offer_id": uid(name),
            "interaction_id": uid(interaction_name),
            "agent_id": agent,
            "offered_at": T0 + 2,
            "seq": seq,
            **kw,
        }
    )


def state(name: str, agent: str = "a1", seq: int = 1, **kw: Any) -> AgentStateRecord:
    return AgentStateRecord(
        **{"interval_id": uid(name), "agent_id": agent, "state": "ready", "started_at": T0, "seq": seq, **kw}
    )


def left_unanswered(call: InteractionRecord, kind: str, wait: float, short: float = 5.0) -> InteractionRecord:
    """``call`` closed as ``kind`` (abandoned, overflowed, failed, moved) after ``wait`` seconds in queue.

    A move and a short abandon (under ``short`` seconds) count for no side of the service level.
    """
    return dataclasses.replace(
        call,
        seq=2,
        outcome=kind,  # type: ignore[arg-type]
        ended_at=call.arrived_at + wait,
        wait_seconds=wait,
        within_sla=None if kind == "moved" or (kind == "abandoned" and wait < short) else False,
    )
