"""Claims on the PBX (acd.core.claims): the next agent of each queue published for the dialplan to
claim as a caller enters, and every order in which a claim and the core's own moves can meet.

The core stands by a claim only when it is the offer it published and the agent is still free for it;
any other claim is cancelled before anything else the arrival does, and the caller takes the normal
path. Each race is written as the order in which the core hears the events."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from core_builders import agent, config, queue

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, Command, PublishNext, RingAgent, WithdrawNext
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    CallArrived,
    ConfigChanged,
    Customer,
    OfferAnswered,
    ResyncStarted,
)
from acd.core.states import AgentState, CallState

ON = config([queue("q")], [agent("a1"), agent("a2")], claim_on_pbx=True)


def _published(commands: Sequence[Command]) -> list[tuple[str, str]]:
    return [(c.queue, c.agent_id) for c in commands if isinstance(c, PublishNext)]


def _offer(commands: Sequence[Command], queue_name: str) -> str:
    return next(c.offer_id for c in commands if isinstance(c, PublishNext) and c.queue == queue_name)


def _claim(call_id: str, queue_name: str, agent_id: str, offer: str, priority: int = 5) -> CallArrived:
    return CallArrived(call_id, queue_name, priority, claimed_offer=offer, claimed_agent=agent_id)


def test_nothing_is_published_with_the_flag_off() -> None:
    acd = Acd(dataclasses.replace(ON, policy=dataclasses.replace(ON.policy, claim_on_pbx=False)))
    out = acd.handle(AgentLoggedIn("a1"), 0.0)
    assert not [c for c in out if isinstance(c, PublishNext | WithdrawNext)]
    out = acd.handle(CallArrived("c1", "q", 5), 1.0)
    assert [c.agent_id for c in out if isinstance(c, RingAgent)] == ["a1"]


def test_a_claim_of_the_published_offer_is_the_offer_made_with_no_redirect() -> None:
    acd = Acd(ON)
    out = acd.handle(AgentLoggedIn("a1"), 0.0)
    assert _published(out) == [("q", "a1")]
    offer = _offer(out, "q")
    out = acd.handle(AgentLoggedIn("a2"), 0.5)
    assert not _published(out)  # a2 logged in later: a1, idle longer, stays the next
    out = acd.handle(_claim("c1", "q", "a1", offer), 1.0)
    assert not [c for c in out if isinstance(c, RingAgent | CancelOffer)]  # the PBX rings a1 already
    assert acd.call_state("c1") is CallState.RINGING
    assert acd.agent_state("a1") is AgentState.RESERVED
    assert _published(out) == [("q", "a2")]  # and the next is published
    acd.handle(OfferAnswered(offer), 2.0)
    assert acd.call_state("c1") is CallState.CONNECTED


def test_two_callers_at_once_one_claims_and_the_other_takes_the_normal_path() -> None:
    acd = Acd(dataclasses.replace(ON, agents=(agent("a1"),)))
    offer = _offer(acd.handle(AgentLoggedIn("a1"), 0.0), "q")
    acd.handle(_claim("c1", "q", "a1", offer), 1.0)
    out = acd.handle(CallArrived("c2", "q", 5), 1.0)  # the dialplan found the publication gone
    assert not [c for c in out if isinstance(c, RingAgent)]
    assert acd.call_state("c2") is CallState.WAITING
    # the same claim twice (never made by the dialplan: its clear is under the lock) is not stood by
    out = acd.handle(_claim("c3", "q", "a1", offer), 1.0)
    assert [(c.call_id, c.offer_id) for c in out if isinstance(c, CancelOffer)] == [("c3", offer)]
    assert acd.call_state("c3") is CallState.WAITING


def test_a_pause_that_wins_leaves_nothing_to_claim_and_one_that_loses_cancels_the_ring() -> None:
    acd = Acd(dataclasses.replace(ON, agents=(agent("a1"),)))
    offer = _offer(acd.handle(AgentLoggedIn("a1"), 0.0), "q")
    out = acd.handle(AgentPaused("a1", "break"), 1.0)
    assert [c.queue for c in out if isinstance(c, WithdrawNext)] == ["q"]
    # lost: the caller claimed before the clear landed; the PBX rings a1 once, and the core cancels it
    out = acd.handle(_claim("c1", "q", "a1", offer), 1.001)
    assert [c for c in out if isinstance(c, CancelOffer)] == [CancelOffer(offer, "c1", "a1")]
    assert out.index(next(c for c in out if isinstance(c, CancelOffer))) == 0  # before any other move
    assert not [c for c in out if isinstance(c, RingAgent)]
    assert acd.call_state("c1") is CallState.WAITING
    assert acd.agent_state("a1") is AgentState.PAUSED


def test_a_logout_that_loses_cancels_the_ring() -> None:
    acd = Acd(dataclasses.replace(ON, agents=(agent("a1"),)))
    offer = _offer(acd.handle(AgentLoggedIn("a1"), 0.0), "q")
    acd.handle(AgentLoggedOut("a1"), 1.0)
    out = acd.handle(_claim("c1", "q", "a1", offer), 1.001)
    assert [c.offer_id for c in out if isinstance(c, CancelOffer)] == [offer]
    assert acd.call_state("c1") is CallState.WAITING


def test_a_claim_that_beat_another_queues_offer_stands_and_that_offer_never_started() -> None:
    """The core offered a1 to a q2 caller by Redirect (withdrawing q1's publication) while a q1 caller
    claimed it: on the PBX the claim took a1's mark first, so the Redirect rings nobody. The claim
    stands; the q2 caller's offer ends as never started (no cool-down) and they wait for the next agent."""
    cfg = config([queue("q1"), queue("q2")], [agent("a1")], claim_on_pbx=True)
    acd = Acd(cfg)
    out = acd.handle(AgentLoggedIn("a1"), 0.0)
    assert _published(out) == [("q1", "a1")]  # one queue at a time
    offer = _offer(out, "q1")
    out = acd.handle(CallArrived("c2", "q2", 5), 1.0)  # the normal path in q2
    rings = [c for c in out if isinstance(c, RingAgent)]
    assert [r.agent_id for r in rings] == ["a1"]
    assert [c.queue for c in out if isinstance(c, WithdrawNext)] == ["q1"]
    out = acd.handle(_claim("c1", "q1", "a1", offer), 1.001)  # claimed before the withdrawal landed
    assert not [c for c in out if isinstance(c, CancelOffer | RingAgent)]
    assert acd.call_state("c1") is CallState.RINGING
    assert acd.call_state("c2") is CallState.WAITING
    assert acd.agent_state("a1") is AgentState.RESERVED
    # the same withdrawn offer claimed again (never by the dialplan: the mark is a1's) is cancelled
    out = acd.handle(_claim("c3", "q1", "a1", offer), 1.002)
    assert [c.offer_id for c in out if isinstance(c, CancelOffer)] == [offer]


def test_a_config_change_that_turns_claims_off_withdraws_every_publication() -> None:
    cfg = config([queue("q1"), queue("q2")], [agent("a1"), agent("a2")], claim_on_pbx=True)
    acd = Acd(cfg)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    out = acd.handle(AgentLoggedIn("a2"), 0.1)
    assert _published(out) == [("q2", "a2")]
    offer = _offer(out, "q2")
    off = dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, claim_on_pbx=False))
    out = acd.handle(ConfigChanged(off), 1.0)
    assert sorted(c.queue for c in out if isinstance(c, WithdrawNext)) == ["q1", "q2"]
    out = acd.handle(_claim("c1", "q2", "a2", offer), 1.001)  # too late: cancelled, then the normal path
    kinds = [type(c) for c in out if isinstance(c, CancelOffer | RingAgent)]
    assert kinds == [CancelOffer, RingAgent]


def test_a_caller_with_other_requirements_never_stands_on_a_claim() -> None:
    for vip in (False, True):
        acd = Acd(dataclasses.replace(ON, agents=(agent("a1"),)))
        offer = _offer(acd.handle(AgentLoggedIn("a1"), 0.0), "q")
        arrival = _claim("c1", "q", "a1", offer, priority=5 if vip else 9)
        if vip:
            arrival = dataclasses.replace(arrival, customer=Customer("x", "X", "vip"))
        out = acd.handle(arrival, 1.0)
        assert isinstance(out[0], CancelOffer)
        assert [c.agent_id for c in out if isinstance(c, RingAgent)] == ["a1"]  # the normal path


def test_an_old_leaders_claim_is_cancelled() -> None:
    acd = Acd(dataclasses.replace(ON, agents=(agent("a1"),)))
    acd.handle(AgentLoggedIn("a1"), 0.0)
    stale = "00000000-0000-5000-8000-000000000000"
    out = acd.handle(_claim("c1", "q", "a1", stale), 1.0)
    assert [c.offer_id for c in out if isinstance(c, CancelOffer)] == [stale]
    assert [c.queue for c in out if isinstance(c, WithdrawNext)] == ["q"]  # its publication taken back
    assert _published(out) == []  # a1 is rung for c1 by a Redirect now: nothing left to publish
    assert [c.agent_id for c in out if isinstance(c, RingAgent)] == ["a1"]


def test_a_resync_withdraws_everything() -> None:
    acd = Acd(ON)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    out = acd.handle(ResyncStarted(), 1.0)
    assert [c.queue for c in out if isinstance(c, WithdrawNext)] == ["q"]
