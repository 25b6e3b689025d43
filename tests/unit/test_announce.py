"""Holding announcements: each waiting caller learns their place in routing order, and an estimate
once an AHT has been measured; only changes are sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.announce import Announcer
from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentResumed,
    CallArrived,
    CallEnded,
    CallTransferred,
    OfferAnswered,
)
from acd.core.wait_estimate import estimated_wait

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)


@dataclass
class Told:
    sent: list[tuple[str, int, int | None]] = field(default_factory=list)

    waited: list[tuple[str, int | None]] = field(default_factory=list)

    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None:
        self.sent.append((channel, position, ewt_seconds))

    async def say_waited(self, channel: str, seconds: int | None) -> None:
        self.waited.append((channel, seconds))


def test_estimated_wait() -> None:
    assert estimated_wait(3, 120.0, 2) == 180
    assert estimated_wait(1, None, 2) is None
    assert estimated_wait(1, 120.0, 0) is None


async def test_positions_follow_priority_then_arrival_and_only_changes_are_sent() -> None:
    core = Acd(CONFIG)
    for agent in ("a1", "a2"):
        core.handle(AgentLoggedIn(agent), 0.0)
        core.handle(AgentPaused(agent, "meeting"), 0.0)  # logged in but paused: nobody is offered
    core.handle(CallArrived("c1", "billing", 5, channel="ch1"), 10.0)
    core.handle(CallArrived("c2", "billing", 5, channel="ch2"), 11.0)
    core.handle(CallArrived("c3", "billing", 9, channel="ch3"), 12.0)
    channels = {"c1": "ch1", "c2": "ch2", "c3": "ch3"}
    told = Told()
    announcer = Announcer(core, told, channels.get)

    assert await announcer.refresh(13.0) == 3
    assert sorted(told.sent) == [("ch1", 2, None), ("ch2", 3, None), ("ch3", 1, None)]
    assert await announcer.refresh(14.0) == 0  # nothing changed

    told.sent.clear()
    (ring,) = [c for c in core.handle(AgentResumed("a1"), 16.0) if isinstance(c, RingAgent)]
    assert ring.call_id == "c3"  # a1 takes the priority-9 caller; the others move up
    await announcer.refresh(17.0)
    assert sorted(told.sent) == [("ch1", 1, None), ("ch2", 2, None)]  # no call handled yet: no estimate

    core.handle(OfferAnswered(ring.offer_id), 18.0)
    core.handle(CallEnded("c3"), 118.0)  # handled in 100 s (no wrap-up); a1 is offered c1 at once
    told.sent.clear()
    await announcer.refresh(119.0)
    assert told.sent == [("ch2", 1, 100)]  # 1 x AHT 100 / 1 agent serving (a2 paused)
    assert core.wait_estimates(119.0) == {"c2": ("billing", 1, 100)}


async def test_a_caller_transferred_into_another_stay_is_told_their_place_again_even_when_it_is_the_same() -> None:
    """The transfer clears ACD_POSITION on the channel (acd-transfer): the caller, first in billing and
    first again in support, must hear their place there; it is the same call and the same number."""
    config = RoutingConfig(
        queues=(*CONFIG.queues, QueueConfig("support", (SkillRequirement("support", 1),))),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
    )
    core = Acd(config)
    core.handle(AgentLoggedIn("a1"), 0.0)
    core.handle(AgentPaused("a1", "meeting"), 0.0)
    core.handle(CallArrived("c1", "billing", 5, channel="ch1"), 10.0)
    told = Told()
    announcer = Announcer(core, told, {"c1": "ch1"}.get)
    await announcer.refresh(11.0)
    assert told.sent == [("ch1", 1, None)]
    (ring,) = [c for c in core.handle(AgentResumed("a1"), 12.0) if isinstance(c, RingAgent)]
    core.handle(OfferAnswered(ring.offer_id), 13.0)
    core.handle(CallTransferred("c1", "a1", "support"), 14.0)  # within one refresh of the answer
    told.sent.clear()
    assert await announcer.refresh(16.0) == 1
    assert told.sent == [("ch1", 1, None)]
    assert await announcer.refresh(17.0) == 0  # then only changes again
