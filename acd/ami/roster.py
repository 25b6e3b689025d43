"""Who is who: the routing config seen from Asterisk's side (endpoint → agent, known queues).

Agents' feature codes and presence events name the PJSIP endpoint (``${CHANNEL(endpoint)}``,
``PJSIP/agent1``); the core speaks agent ids. Both sides are compared in the one bare form
(``agent1``, ``acd.dialling``), which is also how the config stores an endpoint. Also the table
of agent feature-code actions (docs/dialplan.md, ``*50`` to ``*55``), kept as data so it reads like
the contract.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.core.config import RoutingConfig
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    Event,
    WrapUpDone,
)
from acd.dialling import bare_endpoint

AGENT_ACTIONS: dict[str, Callable[[str, str], Event]] = {
    "login": lambda agent, _reason: AgentLoggedIn(agent),
    "logout": lambda agent, _reason: AgentLoggedOut(agent),
    "pause": lambda agent, reason: AgentPaused(agent, reason or "break"),
    "resume": lambda agent, _reason: AgentResumed(agent),
    "wrapup_done": lambda agent, _reason: WrapUpDone(agent),
}
"""``AcdAction`` → core event; ``disposition`` is handled apart (it needs the agent's last call)."""


class Roster:
    """Lookups built once per config; the translator swaps in a new one on ``ConfigChanged``."""

    def __init__(self, config: RoutingConfig) -> None:
        self._queues = frozenset(q.name for q in config.queues)
        self._by_endpoint = {bare_endpoint(a.endpoint): a.id for a in config.agents}
        self.agent_ids = [a.id for a in config.agents]
        self.endpoint_of = {a.id: bare_endpoint(a.endpoint) for a in config.agents}

    def has_queue(self, name: str) -> bool:
        return name in self._queues

    def agent_for(self, endpoint: str) -> str | None:
        return self._by_endpoint.get(bare_endpoint(endpoint))
