"""The agent actions, one table for both doors they come through: the REST API
(``POST /api/v1/agents/{agent}/<verb>``) and the agents' feature codes (``AcdAction: <word>`` of the
``AcdAgent`` user event, docs/dialplan.md).

Each action has one row: its verb in the API, its word in the dialplan, whether it takes a reason,
and the core event it becomes. The two doors spell "end wrap-up" differently (``ready`` in the API,
``wrapup_done`` on the phone) and both spellings are published contracts, so the table keeps both and
says they are the same action (``WrapUpDone``). A disposition is not here: it needs the agent's call
(the API's ``wrapup``, the phone's ``disposition``), which each door knows its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acd.core.events import AgentLoggedIn, AgentLoggedOut, AgentPaused, AgentResumed, Event, WrapUpDone

DEFAULT_PAUSE_REASON = "break"  # a phone's *52 without a code


@dataclass(frozen=True, slots=True)
class AgentAction:
    verb: str  # the API's path word
    feature: str  # the dialplan's AcdAction word
    takes_reason: bool
    event: Callable[[str, str], Event]  # (agent id, reason) -> the event the core is given


ACTIONS: tuple[AgentAction, ...] = (
    AgentAction("login", "login", False, lambda agent, _reason: AgentLoggedIn(agent)),
    AgentAction("logout", "logout", False, lambda agent, _reason: AgentLoggedOut(agent)),
    AgentAction("pause", "pause", True, lambda agent, reason: AgentPaused(agent, reason or DEFAULT_PAUSE_REASON)),
    AgentAction("resume", "resume", False, lambda agent, _reason: AgentResumed(agent)),
    AgentAction("ready", "wrapup_done", False, lambda agent, _reason: WrapUpDone(agent)),
)

BY_VERB = {a.verb: a for a in ACTIONS}
BY_FEATURE = {a.feature: a for a in ACTIONS}
