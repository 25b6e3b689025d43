"""The estimated wait of a holding caller: one estimate for what a caller hears and for the entry rule.

Holding announces it (``ACD_EWT``, acd.announce) and a queue with ``ewt_limit_seconds`` judges each
new caller by it (``call_handlers._arrival_rules``: offer a callback or divert at entry; docs/kpis.md,
"Estimated-wait diversion"). Both read it from here, so a caller is never diverted on a figure other
than the one they would hear:

    EWT = position * AHT / agents serving the queue        (rounded up to a second)

- position: the caller's place among the queue's waiting callers in routing order (1 = next);
- AHT: the mean handle time (talk + wrap-up, docs/kpis.md "AHT") of the queue's calls whose wrap-up
  ended in the last ``WINDOW_SECONDS``, as the core counts them at that moment (the same
  observations as ``acd_handle_seconds``);
- agents serving: configured agents logged in, neither paused nor consulting, reachable and not busy
  elsewhere, holding the queue's base skills (before widening), as the staffing forecast counts them.

No estimate (None) until an AHT has been measured, or while nobody serves the queue.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

from acd.core.agent import Agent
from acd.core.config import QueueConfig
from acd.core.states import AgentState

WINDOW_SECONDS = 900.0  # the staffing forecast's window: long enough to smooth noise, short enough to follow the day
SERVING = frozenset({AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})


def estimated_wait(position: int, aht: float | None, serving: int) -> int | None:
    """Seconds a caller at ``position`` may expect to wait; None without an AHT or anyone serving."""
    if aht is None or serving <= 0:
        return None
    return math.ceil(position * aht / serving)


def serves(agent: Agent, queue: QueueConfig) -> bool:
    """The agent holds every base skill of ``queue`` at its minimum proficiency (before widening)."""
    return all(agent.skills.get(req.skill, 0) >= req.min_proficiency for req in queue.skills)


def serving(agents: Iterable[Agent], queue: QueueConfig) -> int:
    """Agents working for ``queue`` now: the divisor of the estimate."""
    return sum(
        1
        for agent in agents
        if agent.state in SERVING and agent.reachable and not agent.busy_elsewhere and serves(agent, queue)
    )


class HandleTimes:
    """Handle times of the last ``window_seconds`` per queue, for the AHT of the estimate."""

    __slots__ = ("_handles", "_sums", "_window")

    def __init__(self, window_seconds: float = WINDOW_SECONDS) -> None:
        self._window = window_seconds
        self._handles: dict[str, deque[tuple[float, float]]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, queue: str, at: float, seconds: float) -> None:
        """One handled call ending ``at``; those older than the window go now, not only when the AHT is
        read, so a queue whose estimate nobody reads does not keep every handle time of the day."""
        handles = self._handles.setdefault(queue, deque())
        handles.append((at, seconds))
        self._sums[queue] = self._sums.get(queue, 0.0) + seconds
        self._forget(queue, handles, at)

    def aht(self, queue: str, now: float) -> float | None:
        """Mean handle seconds over (now - window, now]; None without a handled call in it."""
        handles = self._handles.get(queue)
        if not handles:
            return None
        self._forget(queue, handles, now)
        if not handles:
            return None
        return self._sums[queue] / len(handles)

    def kept(self, queue: str) -> int:
        """How many handle times of ``queue`` are held (the window's, plus any not yet pruned)."""
        return len(self._handles.get(queue, ()))

    def _forget(self, queue: str, handles: deque[tuple[float, float]], now: float) -> None:
        edge = now - self._window
        while handles and handles[0][0] <= edge:
            self._sums[queue] -= handles.popleft()[1]
        if not handles:
            self._sums[queue] = 0.0
