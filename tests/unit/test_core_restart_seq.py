"""A call re-announced to a restarted core gets records that supersede the old ones (higher seq)."""

from __future__ import annotations

from collections.abc import Sequence

from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, OfferUnanswered
from acd.core.record_types import InteractionRecord

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def interaction_seqs(commands: Sequence[object]) -> list[int]:
    return [c.record.seq for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def test_restarted_core_writes_higher_seq_for_the_same_call() -> None:
    old = Acd(CONFIG)
    old.handle(AgentLoggedIn("a1"), 1000.0)
    out = old.handle(CallArrived("c1", "billing", 5, enqueued_at=1000.0), 1000.0)
    offer = next(c for c in out if isinstance(c, RingAgent))
    seqs = interaction_seqs(out) + interaction_seqs(old.handle(OfferUnanswered(offer.offer_id), 1008.0))

    restarted = Acd(CONFIG)
    again = interaction_seqs(restarted.handle(CallArrived("c1", "billing", 5, enqueued_at=1000.0), 1030.0))
    assert again and min(again) > max(seqs)
