"""Each queue's running service level, so that routing can serve first the queue furthest below its target.

Under overload, ordering callers across queues by SLA deadline lets the queues whose callers wait
longest take every free agent, and a queue with a short maximum wait never has the oldest caller: it
starves. With ``[routing] queue_choice = "service_level"`` the core ranks the queues an agent may
serve, within a priority band, by how far their running service level is below their target
(docs/routing-core.md, "Choosing between queues"). The running service level is the KPI of
docs/kpis.md ("Service level", "Running service level"): the same numerator and denominator as the
live counters, counted at queue exit, over the last ``service_level_window_seconds``.
"""

from __future__ import annotations

import math
from collections import deque

from acd.core.config import QueueConfig

STEP_POINTS = 5
"""Service levels within the same step of 5 points below the target count as level (the wallboard's
"at risk" margin is 5 points too, docs/kpis.md); every queue at or above its target is level."""

QueueRank = tuple[int, float]  # (SL step below the target, -share of callers lost): smaller first


class RunningServiceLevel:
    """Queue exits of the last ``window_seconds``, per queue: (exit time, answered within T, answered)."""

    __slots__ = ("_answered", "_exits", "_met", "_ranks", "_window")

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._exits: dict[str, deque[tuple[float, bool, bool]]] = {}
        self._met: dict[str, int] = {}
        self._answered: dict[str, int] = {}
        # queue -> (rank, target it was ranked against, valid until): routing asks far more often than
        # calls leave, and a rank only changes at an exit or when the oldest exit leaves the window
        self._ranks: dict[str, tuple[QueueRank, float, float]] = {}

    @property
    def window_seconds(self) -> float:
        return self._window

    @window_seconds.setter
    def window_seconds(self, seconds: float) -> None:
        """A reconfiguration may change the window: every rank is computed afresh."""
        self._window = seconds
        self._ranks.clear()

    def count(self, queue: str, at: float, *, within_sla: bool, answered: bool) -> None:
        """A call left ``queue`` at ``at``. Short abandons and moved calls are not counted: SL leaves them out."""
        exits = self._exits.get(queue)
        if exits is None:
            exits = self._exits[queue] = deque()
            self._met[queue] = self._answered[queue] = 0
        if exits and at < exits[-1][0]:
            at = exits[-1][0]  # events arrive in time order; never let the window run backwards
        exits.append((at, within_sla, answered))
        self._ranks.pop(queue, None)
        self._met[queue] += within_sla
        self._answered[queue] += answered

    def _forget(self, queue: str, now: float) -> int:
        """Drop the exits at or before ``now - window``; how many are left."""
        exits = self._exits.get(queue)
        if exits is None:
            return 0
        start = now - self._window
        while exits and exits[0][0] <= start:
            _, met, answered = exits.popleft()
            self._met[queue] -= met
            self._answered[queue] -= answered
        return len(exits)

    def ratio(self, queue: str, now: float) -> float | None:
        """Answered within T / (offered - short abandons) over (now - window, now]; None without exits."""
        n = self._forget(queue, now)
        return self._met[queue] / n if n else None

    def lost_share(self, queue: str, now: float) -> float | None:
        """Abandoned (not short), overflowed and failed / (offered - short abandons), over the same window."""
        n = self._forget(queue, now)
        return (n - self._answered[queue]) / n if n else None

    def rank(self, queue: QueueConfig, now: float) -> QueueRank:
        """Where ``queue`` stands against its target; smaller is further behind and is served first.

        The step of 5 points the running SL is below the target (-1: up to 5 points below, -2: up to
        10...), 0 for every queue at or above its target; within a step below the target, the queue
        losing the larger share of its callers first. A queue with no exits in the window stands at its
        target. Queues at step 0 are level: the call order (deadline) decides between them.
        """
        name, target = queue.name, queue.sla_target_ratio
        held = self._ranks.get(name)
        if held is not None and held[1] == target and now < held[2]:
            return held[0]
        n = self._forget(name, now)
        if not n:
            return (0, 0.0)
        points = (self._met[name] / n - target) * 100
        step = min(0, math.floor(points / STEP_POINTS + 1e-9))  # 75 % against 80 % is step -1, not -2
        rank = (step, -(n - self._answered[name]) / n) if step < 0 else (0, 0.0)
        oldest = self._exits[name][0][0]
        self._ranks[name] = (rank, target, oldest + self._window)  # the oldest exit leaves at that moment
        return rank
