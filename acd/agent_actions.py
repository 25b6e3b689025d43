"""The agent actions, one table for both doors they come through: the REST API
(``POST /api/v1/agents/{agent}/<verb>``) and the agents' feature codes (``AcdAction: <word>`` of the
``AcdAgent`` user event, docs/dialplan.md).

Each action has one row: its verb in the API, its word in the dialplan, whether it takes a reason,
and the core event it becomes. The two doors spell "end wrap-up" differently (``ready`` in the API,
``wrapup_done`` on the phone) and both spellings are published contracts, so the table keeps both and
says they are the same action (``WrapUpDone``). A disposition is not here: it needs the agent's call
(the API's ``wrapup``, the phone's ``disposition``), which each door knows its own way; but the
phone's number for a code is decided here once (``phone_disposition``, ``phone_codes``), for the
translator that reads ``*55<n>``, the desk and ``acd check`` that show the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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


DISPOSITION_CODE = "*55"  # the feature code; the digits after it pick a code of the call's queue's catalogue
_POSITION = re.compile(r"[1-9][0-9]{0,2}")


def phone_disposition(catalogue: Sequence[str], digits: str) -> str | None:
    """The code a phone's ``*55<digits>`` picks: the ``digits``-th code (1-based, no leading zero) of
    the call's queue's catalogue, in the catalogue's order; None when there is no such code."""
    if not _POSITION.fullmatch(digits):
        return None
    position = int(digits)
    return catalogue[position - 1] if position <= len(catalogue) else None


def phone_codes(catalogue: Sequence[str]) -> list[tuple[str, str]]:
    """What an agent dials for each code of the catalogue: ``[("*551", "inquiry/information"), ...]``."""
    return [(f"{DISPOSITION_CODE}{n}", code) for n, code in enumerate(catalogue, start=1)]
