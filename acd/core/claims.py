"""Claims: the next agent of each queue published on the PBX, rung by the dialplan with no round trip.

With ``[routing] claim_on_pbx`` on, the core keeps, per queue, the offer a caller entering it with the
queue's defaults would get first (its first routable agent, each agent in one queue at most) published
on the PBX (``PublishNext``); the dialplan claims it under a lock as the caller enters and rings that
agent at once (docs/dialplan.md, "Claims"). The caller's ``CallArrived`` says what was claimed, and the
core stands by the claim when it is the offer it published and the agent is still free for it: the
offer is made (no ``RingAgent``: the PBX is ringing already). Any other claim came too late (the core
withdrew that offer: a pause, a logout, another offer, a config change) or is not the core's (an old
leader's, a caller with other requirements): its ring is cancelled (``CancelOffer``) and the caller
takes the normal path. Either way the agent is rung once: the PBX rings an agent for one offer at a
time, a claim or a Redirect, whichever takes the agent's mark first.

Every claim seen for a queue takes that queue's publication back into the core's hands (the dialplan
cleared it, or may have), and the next pass publishes afresh.
"""

from __future__ import annotations

import uuid

from acd.core.agent import Agent
from acd.core.commands import CancelOffer, PublishNext, WithdrawNext
from acd.core.events import CallArrived
from acd.core.floor import Floor
from acd.core.ids import NAMESPACE
from acd.core.states import AgentState

DEFAULT_PRIORITY = 5  # the dialplan's priority when acd-enqueue is given none: the only one that claims
WITHDRAWN_KEPT = 1000  # publications taken back, remembered for a claim that won its race with the withdrawal


def claim_offer_id(queue: str, agent_id: str, now: float, step: int) -> str:
    """A published offer's id: made before any caller exists, so of the queue, the agent and the moment."""
    return str(uuid.uuid5(NAMESPACE, f"claim/{queue}/{agent_id}/{now!r}/{step}"))


def publish(floor: Floor, now: float) -> None:
    """Bring what the PBX holds in line with who each queue would offer a new caller first (after a dispatch).

    Withdrawals go out before publications, so an agent moving from one queue's publication to
    another's is never published twice on the PBX."""
    wanted: dict[str, Agent] = {}
    if floor.config.policy.claim_on_pbx:
        taken: set[str] = set()
        for name in sorted(floor.queues):
            agent = _next_agent(floor, name, taken, now)
            if agent is not None:
                taken.add(agent.agent_id)
                wanted[name] = agent
    changed = [
        name
        for name, (agent_id, _) in sorted(floor.published.items())
        if name not in wanted or wanted[name].agent_id != agent_id
    ]
    for name in changed:
        remember_withdrawn(floor, *floor.published.pop(name))
        floor.emit(WithdrawNext(name))
    for name, agent in wanted.items():
        if name in floor.published:
            continue
        oid = claim_offer_id(name, agent.agent_id, now, floor.step)
        floor.published[name] = (agent.agent_id, oid)
        queue = floor.queues[name]
        timeout = floor.config.policy.ring_timeout_seconds
        floor.emit(PublishNext(name, oid, agent.agent_id, agent.config.endpoint, timeout, queue.record))


def withdraw_all(floor: Floor) -> None:
    """Take back every publication (a resync starts: the core no longer knows who is free)."""
    for name in sorted(floor.published):
        floor.emit(WithdrawNext(name))
    floor.published.clear()
    floor.withdrawn.clear()  # the core no longer knows who is free: a claim of any of them is cancelled


def _next_agent(floor: Floor, queue: str, taken: set[str], now: float) -> Agent | None:
    hours = floor.queues[queue].hours
    if hours is not None and not hours.is_open(now):
        return None  # a caller entering now gets the closed treatment, not an agent
    for agent_id in floor.index.ready(queue):
        agent = floor.agents[agent_id]
        if agent_id in taken or not agent.routable or not agent.config.endpoint or floor.directed.get(agent_id):
            continue
        return agent
    return None


def claimed_agent(floor: Floor, e: CallArrived) -> tuple[Agent | None, str]:
    """The agent of ``e``'s claim when the core stands by it, and the offer of that agent the claim
    displaced (empty: none). Otherwise (None, ""), and a claim there was is cancelled (emitted before
    anything else the arrival moves the caller with).

    A claim of an offer the core withdrew because it offered the agent to another caller by Redirect
    came first on the PBX: it took the agent's mark, so that Redirect rings nobody. The claim stands,
    and that offer is to be ended as one that never started (the other caller is routed again at once).
    A callback's ring is not marked: then the claim is cancelled."""
    if not e.claimed_offer:
        return None, ""
    published = floor.published.pop(e.queue, None)
    claim = (e.claimed_agent, e.claimed_offer)
    if published is not None and published != claim:
        # a newer publication than the one claimed: the dialplan's clear may have taken it (it landed
        # within the claim) or not; it is taken back, and the next pass publishes afresh
        remember_withdrawn(floor, *published)
        floor.emit(WithdrawNext(e.queue))
    agent = floor.agents.get(e.claimed_agent)
    fits = (
        floor.config.policy.claim_on_pbx
        and e.priority == DEFAULT_PRIORITY
        and e.customer is None
        and not e.callback
        and not e.directed_to
        and agent is not None
    )
    if fits and agent is not None and published == claim and agent.routable:
        return agent, ""
    if fits and agent is not None and floor.withdrawn.get(e.claimed_offer) == e.claimed_agent:
        displaced = agent.offer_id if agent.state is AgentState.RESERVED else None
        if displaced is not None and displaced in floor.offers:
            taken = floor.calls.get(floor.offers[displaced].interaction_id)
            if taken is not None and not taken.callback:
                del floor.withdrawn[e.claimed_offer]
                return agent, displaced
    floor.emit(CancelOffer(e.claimed_offer, e.call_id, e.claimed_agent))
    return None, ""


def remember_withdrawn(floor: Floor, agent_id: str, offer_id: str) -> None:
    """A publication taken back: a claim of it may still come (it won the race with the withdrawal)."""
    floor.withdrawn[offer_id] = agent_id
    while len(floor.withdrawn) > WITHDRAWN_KEPT:
        del floor.withdrawn[next(iter(floor.withdrawn))]
