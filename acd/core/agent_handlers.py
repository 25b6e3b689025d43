"""What agents do of their own accord: log in and out, pause and resume, end wrap-up (or let its
timer end it), and what their phones' presence says: the handlers behind ``Acd.handle`` for agent
events. Each function checks the agent and the transition before it changes anything, like every
handler there; what happens to calls and offers is in ``call_handlers``.
"""

from __future__ import annotations

from acd.core import call_handlers
from acd.core.agent import Agent
from acd.core.errors import UnknownAgent
from acd.core.events import AgentLoggedIn, AgentReachability, AgentResumed, WrapUpDone
from acd.core.floor import Floor
from acd.core.states import AgentInput, AgentState, check_agent
from acd.core.timers import TimerKey


def agent_of(floor: Floor, agent_id: str) -> Agent:
    """A configured agent, or ``UnknownAgent`` (also for one removed from the config)."""
    if not floor.configured(agent_id):
        raise UnknownAgent(agent_id)
    return floor.agents[agent_id]


def logged_in(floor: Floor, e: AgentLoggedIn, now: float) -> None:
    agent = agent_of(floor, e.agent_id)
    check_agent(agent, AgentInput.LOG_IN, "AgentLoggedIn")
    agent.misses = 0
    floor.move_agent(agent, AgentInput.LOG_IN, now)


def resumed(floor: Floor, e: AgentResumed, now: float) -> None:
    agent = agent_of(floor, e.agent_id)
    check_agent(agent, AgentInput.RESUME, "AgentResumed")
    agent.misses = 0  # an auto-paused agent starts afresh
    floor.move_agent(agent, AgentInput.RESUME, now)


def step_away(floor: Floor, agent_id: str, what: AgentInput, reason: str, now: float) -> None:
    """Pause or log out; a ringing offer is withdrawn (the caller keeps their place), a wrap-up ends."""
    agent = agent_of(floor, agent_id)
    event = "AgentLoggedOut" if what is AgentInput.LOG_OUT else "AgentPaused"
    check_agent(agent, what, event)
    if agent.state is AgentState.RESERVED:
        floor.withdraw(agent, now)
    elif agent.state is AgentState.WRAP_UP:
        floor.finish_wrapup(agent, now)
    floor.move_agent(agent, what, now, reason)
    if what is AgentInput.LOG_OUT:  # callers transferred to them by name go to their queues now
        call_handlers.release_directed(floor, agent.agent_id, now)
    call_handlers.queues_emptied(floor, agent.skills, now)


def wrapup_done(floor: Floor, e: WrapUpDone, now: float) -> None:
    agent = agent_of(floor, e.agent_id)
    check_agent(agent, AgentInput.WRAP_UP_DONE, "WrapUpDone")
    _end_wrapup(floor, agent, now)


def wrapup_timed_out(floor: Floor, key: TimerKey, now: float) -> None:
    """The queue's wrap-up time has run out."""
    agent = floor.agents[key.subject]
    check_agent(agent, AgentInput.WRAP_UP_DONE, "TimerFired")
    del floor.timers[key]
    _end_wrapup(floor, agent, now)


def _end_wrapup(floor: Floor, agent: Agent, now: float) -> None:
    floor.finish_wrapup(agent, now)
    floor.move_agent(agent, AgentInput.WRAP_UP_DONE, now)


def reachability(floor: Floor, e: AgentReachability, now: float) -> None:
    """Presence changes no state; it only decides whether a READY agent may be offered calls."""
    agent = agent_of(floor, e.agent_id)
    floor.set_reachability(agent, e.reachable, e.busy_elsewhere)
