"""Indexes that make a routing decision cheap: ready agents and waiting calls per (queue, level).

Eligibility depends only on an agent's skills and a call's queue and widening level, so it is
computed once per agent and configuration (``eligibility.queue_matches``). A READY, reachable
agent sits in the ready index of every (queue, level) it is eligible for, keyed by
``(tier, -score, idle_since, agent_id)``; a WAITING call sits in the waiting index of its
(queue, level), keyed by ``Call.key``. Finding the best agent for a call is then the first key of
one index that is not cooling down for that call; finding the best call for an agent is the best
head among the few indexes the agent is eligible for. Neither scans all agents or all calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from acd.core.config import AgentConfig, QueueConfig
from acd.core.eligibility import Match, max_level, queue_matches
from acd.core.interaction import Call, CallKey
from acd.core.ordered_index import OrderedIndex
from acd.core.service_level import QueueRank

Group = tuple[str, int]  # (queue, widening level)
AgentKey = tuple[int, int, float, str]  # (tier, -score, idle_since, agent id)
RankedKey = tuple[int, QueueRank, CallKey]  # (-priority, the queue's rank, call key): "service_level" queue choice


def cooling(call: Call, agent_id: str, now: float) -> bool:
    """The agent missed this call recently and may not be offered it again yet."""
    until = call.cooldowns.get(agent_id)
    return until is not None and now < until


class RoutingIndex:
    def __init__(self, queues: tuple[QueueConfig, ...]) -> None:
        self._levels = {q.name: max_level(q) for q in queues}
        self._ready: dict[Group, OrderedIndex[AgentKey]] = {}
        self._waiting: dict[Group, OrderedIndex[CallKey]] = {}
        self._queues = {q.name: q for q in queues}
        # agent id -> queue -> level -> match, for every level the agent is eligible at
        self._matches: dict[str, dict[str, dict[int, Match]]] = {}
        self._ready_keys: dict[str, list[tuple[Group, AgentKey]]] = {}
        self._waiting_keys: dict[str, tuple[Group, CallKey]] = {}
        for q in queues:
            for level in range(self._levels[q.name] + 1):
                self._ready[(q.name, level)] = OrderedIndex()
                self._waiting[(q.name, level)] = OrderedIndex()

    def learn_agent(self, config: AgentConfig) -> None:
        """(Re)compute where an agent is eligible; call with the agent out of the ready index."""
        skills = dict(config.skills)
        found: dict[str, dict[int, Match]] = {}
        for name, queue in self._queues.items():
            by_level = queue_matches(skills, queue)
            if by_level:
                found[name] = by_level
        self._matches[config.id] = found

    def add_agent(self, agent_id: str, idle_since: float) -> None:
        keys: list[tuple[Group, AgentKey]] = []
        for queue, by_level in self._matches.get(agent_id, {}).items():
            for level, (tier, neg_score) in by_level.items():
                key = (tier, neg_score, idle_since, agent_id)
                self._ready[(queue, level)].add(key)
                keys.append(((queue, level), key))
        self._ready_keys[agent_id] = keys

    def remove_agent(self, agent_id: str) -> None:
        for group, key in self._ready_keys.pop(agent_id, ()):
            self._ready[group].remove(key)

    def add_call(self, call: Call) -> None:
        group = (call.queue.name, call.level)
        key = call.key
        self._waiting[group].add(key)
        self._waiting_keys[call.call_id] = (group, key)

    def remove_call(self, call_id: str) -> None:
        held = self._waiting_keys.pop(call_id, None)
        if held is not None:
            self._waiting[held[0]].remove(held[1])

    def has_queue(self, name: str) -> bool:
        return name in self._queues

    def best_agent(self, call: Call, now: float) -> str | None:
        """The best routable agent for ``call``: first in its group's order, not cooling down."""
        index = self._ready.get((call.queue.name, call.level))
        if index is None:
            return None
        for key in index:
            if not cooling(call, key[3], now):
                return key[3]
        return None

    def first_ready(self, queue: str) -> str | None:
        """The agent a new arrival in ``queue`` would be offered first (its lowest widening level's
        order: skills, proficiency, idle time), not asking about any call's cool-downs: the agent an
        attended transfer to that queue consults (docs/kpis.md, "Transfers")."""
        for key in self._ready.get((queue, 0), ()):
            return key[3]
        return None

    def ready(self, queue: str) -> Iterator[str]:
        """The routable agents of ``queue``'s lowest widening level, in the order a new arrival would
        be offered them (``first_ready`` first): the agents a published claim may name (acd.core.claims)."""
        for key in self._ready.get((queue, 0), ()):
            yield key[3]

    def best_call(
        self,
        agent_id: str,
        calls: Mapping[str, Call],
        now: float,
        rank: Callable[[str], QueueRank] | None = None,
        held: frozenset[str] = frozenset(),
    ) -> str | None:
        """The waiting call that comes first in routing order among those the agent may take.

        With ``rank`` (where a queue stands against its service-level target, ``service_level.py``),
        queues are ranked within a priority band by it, furthest behind first, and by the call order
        only on a tie: the key compared is ``(-priority, rank, deadline, enqueued_at, call_id)``.
        Within one queue the rank is the same for every call, so a queue's own order never changes.
        The calls of the ``held`` PBXs (being resynced) are passed over, as cooling ones are.
        """
        skip = cooling if not held else (lambda call, agent, at: call.pbx in held or cooling(call, agent, at))
        if rank is None:
            best: CallKey | None = None
            for queue, by_level in self._matches.get(agent_id, {}).items():
                # Eligibility grows with the level, so the agent qualifies from its lowest level up.
                for level in range(min(by_level), self._levels[queue] + 1):
                    for key in self._waiting[(queue, level)]:
                        if best is not None and key >= best:
                            break
                        if not skip(calls[key[3]], agent_id, now):
                            best = key
                            break
            return None if best is None else best[3]
        ranked: RankedKey | None = None
        for queue, by_level in self._matches.get(agent_id, {}).items():
            behind: QueueRank | None = None  # asked once per queue, and only if it has a waiting call
            for level in range(min(by_level), self._levels[queue] + 1):
                for key in self._waiting[(queue, level)]:
                    if behind is None:
                        behind = rank(queue)
                    if ranked is not None and (key[0], behind, key) >= ranked:
                        break
                    if not skip(calls[key[3]], agent_id, now):
                        ranked = (key[0], behind, key)
                        break
        return None if ranked is None else ranked[2][3]
