"""Who is who: the routing config seen from Asterisk's side (endpoint → agent, known queues).

Agents' feature codes and presence events name the PJSIP endpoint (``${CHANNEL(endpoint)}``,
``PJSIP/agent1``); the core speaks agent ids. Both sides are compared in the one bare form
(``agent1``, ``acd.dialling``), which is also how the config stores an endpoint. The feature codes' actions
(docs/dialplan.md, ``*50`` to ``*55``) are the table the API shares, ``acd.agent_actions``.
"""

from __future__ import annotations

from acd.core.config import RoutingConfig
from acd.dialling import bare_endpoint


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

    def agent_numbered(self, number: str) -> str | None:
        """The one agent whose endpoint ends in exactly ``number`` after a non-digit (``agent7`` for
        ``7``), as a supervisor's feature code names it; None for none or more than one."""
        found = [a for e, a in self._by_endpoint.items() if e.endswith(number) and not e[: -len(number)][-1:].isdigit()]
        return found[0] if len(found) == 1 and number.isdigit() else None
