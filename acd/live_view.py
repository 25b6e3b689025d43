"""The live routing state as its readers see it: the REST API, the wallboard and the agent desk ask
this view, never the core itself.

The core changes only through the one writer (``acd.runtime.Runtime``, which feeds it events); a
reader that held the core could call ``handle`` and route behind the writer's back. ``LiveView``
offers the queries and nothing else: the config in force, a snapshot, the queued callers, a routing
explanation, an agent's state, the runtime's clock and its change signals. Its answers are taken
between two events, so a handler that reads without awaiting sees one consistent moment.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from acd.core.config import AgentConfig, QueueConfig, RoutingConfig
from acd.core.decisions import Explanation
from acd.core.floor import Consult
from acd.core.snapshot import AgentView, CallView, Snapshot
from acd.core.states import AgentState
from acd.wallboard.today import ServiceLevelToday

if TYPE_CHECKING:
    from acd.runtime import Runtime


class LiveView:
    """Read-only queries over the runtime's core: one writer, many readers."""

    __slots__ = ("_runtime",)

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def now(self) -> float:
        """The runtime's clock (what the core's timers and ``since`` values are measured against)."""
        return self._runtime.now()

    @property
    def standing_by(self) -> bool:
        """Whether this process stands by (another leads: docs/standby.md): its core routes nothing."""
        return self._runtime.standing_by

    @property
    def config(self) -> RoutingConfig:
        """The routing config the core runs now."""
        return self._runtime.core.config

    def snapshot(self, now: float) -> Snapshot:
        return self._runtime.core.snapshot(now)

    def queued_calls(self, now: float) -> list[CallView]:
        """Every caller still in a queue (waiting or ringing), by queue and then routing order."""
        return self._runtime.core.queued_calls(now)

    def queued_call(self, call_id: str, now: float) -> CallView | None:
        return next((c for c in self.queued_calls(now) if c.call_id == call_id), None)

    def talking(self, call_id: str) -> tuple[str, str] | None:
        """The queue and the agent of a call in conversation now (None: not talking, or not known)."""
        return self._runtime.core.talking(call_id)

    def consult(self, call_id: str) -> Consult | None:
        """The call's open consult leg (the agent talking with the caller consults ``target``)."""
        return self._runtime.core.consult(call_id)

    def call_queue(self, call_id: str) -> QueueConfig | None:
        """The config in force of the queue a known call came through (None: call or queue unknown)."""
        name = self._runtime.core.call_queue(call_id)
        return None if name is None else self.config.queue(name)

    def call_caller(self, call_id: str) -> str | None:
        """The caller's number of a known call (in progress or recently ended), as the records hold it."""
        return self._runtime.core.call_caller(call_id)

    def explain(self, call_id: str) -> Explanation | None:
        """Why the call's last routing decision chose whom it chose (None: no decision known)."""
        return self._runtime.core.explain(call_id)

    def agent_state(self, agent_id: str) -> AgentState | None:
        return self._runtime.core.agent_state(agent_id)

    def agent_view(self, agent_id: str, now: float) -> AgentView | None:
        """One agent as a snapshot shows them (None: not configured)."""
        return self.snapshot(now).agents.get(agent_id)

    def agent(self, agent_id: str) -> AgentConfig | None:
        """The agent's configuration in force (None: not configured)."""
        return next((a for a in self.config.agents if a.id == agent_id), None)

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in {a.id for a in self.config.agents}

    @property
    def today(self) -> ServiceLevelToday:
        """The calendar day's service level (the wallboard's headline)."""
        return self._runtime.today

    @property
    def changed(self) -> asyncio.Event:
        """Set after every handled event (readers may wait on it and clear it; it changes no state)."""
        return self._runtime.changed

    @property
    def handled(self) -> int:
        """How many events the core has handled: a reader that saw the same count saw the same state."""
        return self._runtime.handled
