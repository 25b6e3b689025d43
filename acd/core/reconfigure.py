"""Applying a new ``RoutingConfig`` to a running floor (``ConfigChanged``, and at start-up).

- Removed agents are logged out safely: a ringing offer is withdrawn (the caller keeps their place),
  a wrap-up ends; an agent on a call finishes the call and is logged out when it ends.
- Changed agents keep their state; their eligibility is recomputed.
- Removed queues overflow their waiting and ringing callers to the old queue's overflow target
  with reason ``queue_removed``; conversations in progress carry on under the old queue settings.
- Waiting calls adopt their queue's new settings (widening, max wait) from now on; a callback has no max
  wait (acd.core.callbacks): it keeps waiting, however long it has; one waiting to call a number the
  caller keyed in that the new ``[callbacks] allowed_numbers`` no longer allow is closed ``overflowed``,
  ``number_not_allowed`` (the PBX would refuse to dial it).
- Callbacks scheduled in a removed queue that have not entered it yet are closed ``queue_removed``.
The routing indexes are rebuilt from scratch, which is O(agents + calls) but config changes are rare.
"""

from __future__ import annotations

from acd.core import callbacks
from acd.core.agent import Agent
from acd.core.commands import OverflowCall
from acd.core.config import RoutingConfig
from acd.core.eligibility import level_at
from acd.core.floor import Floor
from acd.core.hours import queue_target
from acd.core.interaction import Call
from acd.core.routing import RoutingIndex
from acd.core.scheduled_callbacks import queue_removed
from acd.core.states import AgentInput, AgentState, CallInput, CallState


def _retire(floor: Floor, agent: Agent, now: float) -> None:
    if agent.state is AgentState.ON_CALL:
        agent.retiring = True
        return
    if agent.state is AgentState.RESERVED:
        floor.withdraw(agent, now)
    elif agent.state is AgentState.WRAP_UP:
        floor.finish_wrapup(agent, now)
    if agent.state is not AgentState.LOGGED_OUT:
        floor.move_agent(agent, AgentInput.LOG_OUT, now, "removed")


def reconfigure(floor: Floor, config: RoutingConfig, now: float) -> None:
    wanted = {a.id: a for a in config.agents}
    for agent_id in sorted(floor.configured_ids - wanted.keys()):
        _retire(floor, floor.agents[agent_id], now)
    # Leave the old indexes before replacing them, so no stale key survives.
    for agent in floor.agents.values():
        if agent.routable:
            floor.index.remove_agent(agent.agent_id)
    old_queues = floor.queues
    floor.config = config
    floor.service_level.window_seconds = config.policy.service_level_window_seconds
    floor.queues = {q.name: q for q in config.queues}
    floor.index = RoutingIndex(config.queues)
    floor.directed = {}  # filled again below, with the calls still waiting
    floor.configured_ids = set(wanted)
    queue_removed(floor)
    for agent_id in sorted(wanted):
        if agent_id not in floor.agents:
            floor.agents[agent_id] = Agent(wanted[agent_id])
            floor.step += 1
            floor.agents[agent_id].remember(floor.step)
        agent = floor.agents[agent_id]
        agent.config = wanted[agent_id]
        agent.retiring = False
        floor.index.learn_agent(agent.config)
        if agent.routable:
            floor.index.add_agent(agent_id, agent.idle_since)
            floor.dirty_agents[agent_id] = None
    for call in sorted(floor.calls.values(), key=lambda c: c.key):
        if call.state is CallState.CONNECTED:
            continue
        queue = floor.queues.get(call.queue.name)
        if queue is None:
            _drop(floor, call, old_queues[call.queue.name].overflow_target, now)
            continue
        call.queue = queue
        call.level = level_at(queue, call.enqueued_at, now)
        if call.callback and call.state is CallState.WAITING and not callbacks.may_call(floor, call, call.callback):
            # a number keyed in that the new patterns no longer allow: the PBX would refuse to dial it
            floor.leave_queue(call, CallInput.OVERFLOW, "overflowed", callbacks.NUMBER_NOT_ALLOWED, now)
            continue
        if not call.callback and now >= call.enqueued_at + queue.max_wait_seconds:  # a callback never overflows
            _drop(floor, call, queue.overflow_target, now, "max_wait")
            continue
        if call.directed_to and call.directed_to not in wanted:
            call.directed_to = ""  # transferred to an agent who left the config: the queue's now
        if call.state is CallState.WAITING:
            floor.enter_routing(call, now)
        floor.arm_call_timer(call, now)


def _drop(floor: Floor, call: Call, target: str, now: float, reason: str = "queue_removed") -> None:
    """Overflow a queued or ringing call during a reconfiguration.

    A ``queue:<name>`` target goes to the dialplan's first overflow target instead: the queues are
    being rebuilt, and the caller must leave for a place the PBX has.
    """
    if queue_target(target) is not None:
        target = floor.config.policy.overflow_targets[0]
    if call.offer_id is not None:
        floor.cancel_ringing(call, now)
    floor.leave_queue(call, CallInput.OVERFLOW, "overflowed", reason, now)
    floor.emit(OverflowCall(call.call_id, target, reason))
