"""Agent presence after a restart: who was logged in, and who was paused, from the records.

An ACD restart must not log every agent out (app_queue keeps its members in astdb for the same
reason). The last ``agent_states`` interval of each agent says where they were; the service turns
that into login and pause events before it routes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import AgentLoggedIn, AgentPaused, Event

# the newest term's view of each agent first: an old leader's journal that drained late (docs/standby.md,
# "Records reconciled by epoch") may hold later intervals, of agents it no longer held
LAST_STATES = text(
    """
    SELECT DISTINCT ON (agent_id) agent_id, state, reason
    FROM agent_states
    ORDER BY agent_id, epoch DESC, started_at DESC, seq DESC
    """
)


@dataclass(frozen=True, slots=True)
class Presence:
    agent_id: str
    state: str
    reason: str

    def events(self) -> list[Event]:
        if self.state == "logged_out":
            return []
        if self.state == "paused":
            return [AgentLoggedIn(self.agent_id), AgentPaused(self.agent_id, self.reason or "break")]
        return [AgentLoggedIn(self.agent_id)]  # ready, reserved, on call or in wrap-up: logged in


CLOSE_OPEN = text(
    """
    UPDATE agent_states SET ended_at = greatest(started_at, to_timestamp(:at))
    WHERE ended_at IS NULL
    """
)


async def take_over(engine: AsyncEngine, at: float) -> list[Presence]:
    """Read every agent's last state, then close the intervals the previous ACD left open at ``at``.

    The restarted core opens fresh intervals for the agents it restores; without closing the old
    ones, occupancy reports would count the time the ACD was down as time on a call.
    """
    async with engine.begin() as conn:
        rows = (await conn.execute(LAST_STATES)).all()
        await conn.execute(CLOSE_OPEN, {"at": at})
    return [Presence(r.agent_id, r.state, r.reason or "") for r in rows]
