"""A read-only picture of the ACD at one moment, for gauges, the wallboard and the API.

The runtime reads ``acd_calls_waiting``, ``acd_oldest_wait_seconds`` and ``acd_agents{state}``
from here instead of the core emitting gauge updates on every event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from acd.core.agent import Agent
from acd.core.interaction import Call
from acd.core.states import AgentState, CallState


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    state: AgentState
    reason: str  # pause reason
    since: float
    reachable: bool
    call_id: str | None  # the call ringing, in conversation or in wrap-up


@dataclass(frozen=True, slots=True)
class CallView:
    """A caller still in a queue, for the live status API."""

    call_id: str
    queue: str
    priority: int  # the priority routing uses (VIP boost included)
    state: CallState  # WAITING or RINGING
    waited: float  # seconds since enqueue (kept across a re-queue)
    position: int | None  # 1 = next in its queue; None while ringing an agent
    agent_id: str | None  # the agent ringing


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: int  # callers still in the queue: WAITING plus RINGING
    ringing: int
    oldest_wait: float  # seconds; 0 when nobody waits
    callbacks: int = 0  # of ``waiting``, callbacks whose caller hung up keeping their place (acd.core.callbacks)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    queues: Mapping[str, QueueView]
    agents_by_state: Mapping[AgentState, int]  # every state present, zero included
    agents: Mapping[str, AgentView]  # configured agents only
    # open calls per PBX their caller came in on, callbacks aside (``acd_pbx_calls``, docs/pbxs.md)
    pbx_calls: Mapping[str, int] = field(default_factory=dict)

    def waiting(self, queue: str) -> int:
        return self.queues[queue].waiting

    def oldest_wait(self, queue: str) -> float:
        return self.queues[queue].oldest_wait


def take(now: float, queue_names: Iterable[str], calls: Iterable[Call], agents: Iterable[Agent]) -> Snapshot:
    names = sorted(queue_names)
    waiting = dict.fromkeys(names, 0)
    ringing = dict.fromkeys(names, 0)
    oldest = dict.fromkeys(names, 0.0)
    callbacks = dict.fromkeys(names, 0)
    pbx_calls: dict[str, int] = {}
    for call in calls:
        if not call.callback:  # a callback's caller channel is gone; a dialled one is on the first PBX
            pbx_calls[call.pbx] = pbx_calls.get(call.pbx, 0) + 1
        name = call.queue.name
        if name not in waiting or call.state not in (CallState.WAITING, CallState.RINGING):
            continue
        waiting[name] += 1
        if call.state is CallState.RINGING:
            ringing[name] += 1
        if call.callback:
            callbacks[name] += 1
        oldest[name] = max(oldest[name], call.waited(now))
    by_state = dict.fromkeys(AgentState, 0)
    views: dict[str, AgentView] = {}
    for agent in sorted(agents, key=lambda a: a.agent_id):
        by_state[agent.state] += 1
        views[agent.agent_id] = AgentView(
            agent.agent_id,
            agent.state,
            agent.reason,
            agent.since,
            agent.reachable and not agent.busy_elsewhere,
            agent.call_id,
        )
    queues = {n: QueueView(n, waiting[n], ringing[n], oldest[n], callbacks[n]) for n in names}
    return Snapshot(now, queues, by_state, views, pbx_calls)
