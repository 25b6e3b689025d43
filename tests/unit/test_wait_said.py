"""The wait so far in holding's announcements (``announce_waited``): counted over every stay since
the caller's first arrival, rounded to what the stock sounds say, sent only when that changes, and
only values the PBX takes."""

from __future__ import annotations

import math

import pytest
from core_builders import Driver, agent, config, queue
from test_announce import Told

from acd.ami.control import AmiCallControl
from acd.announce import Announcer
from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallTransferred, OfferAnswered
from acd.core.timers import call_timer
from acd.core.wait_said import is_said, wait_said

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),)),  # says no wait (the default)
        QueueConfig("support", (SkillRequirement("support", 1),), announce_waited=True),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def test_the_wait_is_said_in_tens_of_seconds_then_whole_minutes() -> None:
    assert [wait_said(s) for s in (0.0, 9.9, 10.0, 19.9, 59.9, 60.0, 119.9, 120.0, 725.0)] == [
        None, None, 10, 10, 50, 60, 60, 120, 720,
    ]  # fmt: skip
    assert wait_said(10**9) == 999 * 60
    assert wait_said(math.nan) is None and wait_said(-5.0) is None and wait_said(math.inf) is None
    assert all(is_said(v) for s in range(10, 100_000, 7) if (v := wait_said(float(s))) is not None)
    assert not any(is_said(v) for v in (0, 5, 15, 61, 90, 999 * 60 + 60, -60))
    assert not is_said(True)


async def test_a_caller_transferred_into_a_queue_that_says_it_hears_the_wait_since_the_first_arrival() -> None:
    core = Acd(CONFIG)
    core.handle(CallArrived("c1", "billing", 5, channel="ch1"), 0.0)
    told = Told()
    announcer = Announcer(core, told, {"c1": "ch1"}.get)
    await announcer.refresh(30.0)
    assert core.waits_said(30.0) == {} and told.waited == []  # billing says no wait

    (ring,) = [c for c in core.handle(AgentLoggedIn("a1"), 25.0) if isinstance(c, RingAgent)]
    core.handle(OfferAnswered(ring.offer_id), 25.0)  # 25 s waited in billing, then talk
    core.handle(CallTransferred("c1", "a1", "support"), 70.0)  # the talk is not waiting
    assert core.waits_said(74.0) == {"c1": 20}  # 25 s + 4 s: not the 4 s of this stay alone
    await announcer.refresh(74.0)
    assert told.waited == [("ch1", 20)]
    await announcer.refresh(79.0)  # 30 s: said once it changes, not every refresh
    await announcer.refresh(80.0)
    assert told.waited == [("ch1", 20), ("ch1", 30)]
    await announcer.refresh(140.0)  # 95 s: a minute
    assert told.waited[-1] == ("ch1", 60)


async def test_a_caller_overflowing_into_a_queue_that_does_not_say_it_has_it_cleared() -> None:
    d = Driver.of(
        config(
            [
                queue("a", {"s": 1}, max_wait_seconds=40.0, overflow_target="queue:b", announce_waited=True),
                queue("b", {"s": 1}),
            ],
            [agent("x1")],
        )
    )
    d.arrive("c1", 100.0, queue="a")
    told = Told()
    announcer = Announcer(d.acd, told, {"c1": "ch1"}.get)
    await announcer.refresh(125.0)
    assert told.waited == [("ch1", 20)]
    d.fire(call_timer("c1"))  # at 140: into b, which says no wait
    await announcer.refresh(141.0)
    assert told.waited == [("ch1", 20), ("ch1", None)]
    await announcer.refresh(150.0)
    assert len(told.waited) == 2


async def test_only_a_wait_holding_says_reaches_the_pbx() -> None:
    sent: list[dict[str, str]] = []

    class Link:
        async def send(self, action: dict[str, str], timeout: float) -> object:  # noqa: ASYNC109
            sent.append(action)
            return {}

    control = AmiCallControl.__new__(AmiCallControl)
    control._link = Link()  # type: ignore[assignment]
    control._timeout = 1.0
    control.may_act = None  # no lease: nothing fenced
    await control.say_waited("PJSIP/farm-1", 60)
    await control.say_waited("PJSIP/farm-1", None)
    assert [(a["Variable"], a["Value"]) for a in sent] == [("ACD_WAITED_SAY", "60"), ("ACD_WAITED_SAY", "")]
    for bad in (5, 61, 10**9, -60):
        with pytest.raises(ValueError, match="not a wait holding says"):
            await control.say_waited("PJSIP/farm-1", bad)
    assert len(sent) == 2
