"""What the wallboard shows, as one JSON-ready payload built from a snapshot and today's counts.

Per queue: callers waiting (ringing included), the oldest wait, today's service level against the
queue's target with its colour, and the agents available to take the next call. Per agent: a tile
with the state and how long the agent has been in it. Per objective: a tile with its attainment,
projection, target and status, as the ``acd_objective_*`` series last had them (docs/kpis.md,
"Objectives (KPOs)"); a screen limited to some queues shows the objectives of those queues. The
colour rule lives here, once (``sla_status``); the page and docs/kpis.md ("Wallboard") describe it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

from acd.core.config import RoutingConfig
from acd.core.snapshot import Snapshot
from acd.core.states import AgentState
from acd.forecast import serves
from acd.metrics import ObjectiveFigures
from acd.wallboard.today import ServiceLevelToday

SlaStatus = Literal["none", "ok", "at_risk", "breached"]
# At risk: today's service level meets the target by less than this many percentage points.
AT_RISK_POINTS = 5.0


def sla_status(service_level: float | None, target: float) -> SlaStatus:
    """``breached`` below the target; ``at_risk`` from the target to under 5 points above; else ``ok``.

    ``none`` while no call of the day counts yet. Points are compared rounded to 1e-9, so 85 % against
    an 80 % target is ``ok`` whatever the float arithmetic says.
    """
    if service_level is None:
        return "none"
    margin = round((service_level - target) * 100.0, 9)
    if margin < 0:
        return "breached"
    if margin < AT_RISK_POINTS:
        return "at_risk"
    return "ok"


class Board:
    """Builds the payload; keeps the queue membership (who holds each queue's base skills) per config."""

    def __init__(self) -> None:
        self._config: RoutingConfig | None = None
        self._members: dict[str, tuple[str, ...]] = {}
        self._names: dict[str, str] = {}

    def _membership(self, config: RoutingConfig) -> dict[str, tuple[str, ...]]:
        if config is not self._config:
            self._config = config
            self._members = {q.name: tuple(a.id for a in config.agents if serves(a, q)) for q in config.queues}
            self._names = {a.id: a.name or a.id for a in config.agents}
        return self._members

    def narrow(self, payload: dict[str, Any], queues: Collection[str]) -> dict[str, Any]:
        """The board as a screen limited to ``queues`` sees it: those queues, and the agents serving them."""
        members = {agent for name in queues for agent in self._members.get(name, ())}
        tiles = [tile for tile in payload["agents"] if tile["id"] in members]
        by_state = dict.fromkeys(payload["agents_by_state"], 0)
        for tile in tiles:
            by_state[tile["state"]] += 1
        return {
            **payload,
            "objectives": [o for o in payload["objectives"] if o["queues"] and set(o["queues"]) <= set(queues)],
            "queues": [q for q in payload["queues"] if q["name"] in queues],
            "agents": tiles,
            "agents_by_state": by_state,
        }

    def payload(
        self,
        snapshot: Snapshot,
        config: RoutingConfig,
        today: ServiceLevelToday,
        objectives: Mapping[str, ObjectiveFigures] | None = None,
    ) -> dict[str, Any]:
        now = snapshot.at
        members = self._membership(config)
        agents = snapshot.agents
        queues: list[dict[str, Any]] = []
        for queue in sorted(config.queues, key=lambda q: q.name):
            view = snapshot.queues.get(queue.name)
            counts = today.counts(queue.name, now)
            otf_settled, otf_met, otf_pending = today.otf(queue.name, now)
            sl = counts.service_level
            available = logged_in = 0
            for agent_id in members.get(queue.name, ()):
                agent = agents.get(agent_id)
                if agent is None or agent.state is AgentState.LOGGED_OUT:
                    continue
                logged_in += 1
                if agent.state is AgentState.READY and agent.reachable:
                    available += 1
            queues.append(
                {
                    "name": queue.name,
                    "waiting": view.waiting if view else 0,
                    "ringing": view.ringing if view else 0,
                    "oldest_wait": round(view.oldest_wait, 1) if view else 0.0,
                    "service_level": sl,
                    "target": queue.sla_target_ratio,
                    "threshold": queue.sla_threshold_seconds,
                    "status": sla_status(sl, queue.sla_target_ratio),
                    "offered": counts.offered,
                    "answered": counts.answered,
                    "within_sla": counts.within_sla,
                    "counted": counts.counted,
                    "agents_available": available,
                    "agents_logged_in": logged_in,
                    # OTF today (docs/kpis.md, "OTF and FCR"): settled verdicts; pending: windows still open
                    "otf": otf_met / otf_settled if otf_settled else None,
                    "otf_settled": otf_settled,
                    "otf_met": otf_met,
                    "otf_pending": otf_pending,
                }
            )
        tiles = [
            {
                "id": agent_id,
                "name": self._names.get(agent_id, agent_id),
                "state": view.state.value,
                "reason": view.reason if view.state is AgentState.PAUSED else "",
                # None for the logged-out stretch an agent starts in: no event dated its start
                "in_state": round(max(0.0, now - view.since), 1) if view.since > 0 else None,
                "reachable": view.reachable,
            }
            for agent_id, view in agents.items()
        ]
        figures = objectives or {}
        goals = []
        for objective in sorted(config.objectives, key=lambda o: o.name):
            shown = figures.get(objective.name)
            goals.append(
                {
                    "name": objective.name,
                    "metric": objective.metric,
                    "comparison": objective.comparison,
                    "target": objective.target,
                    "scope": objective.scope,
                    "queues": list(objective.members) if objective.scope in ("queue", "queues") else [],
                    "members": list(objective.members),
                    "period": objective.period,
                    "attainment": shown.attainment if shown else None,
                    "projection": shown.projection if shown else None,
                    "status": shown.status if shown else "no_data",
                }
            )
        return {
            "at": now,
            "day": today.day.isoformat(),
            "objectives": goals,
            "since": today.since,
            "otf_since": today.otf_since,
            "at_risk_points": AT_RISK_POINTS,
            "queues": queues,
            "agents": tiles,
            "agents_by_state": {state.value: count for state, count in snapshot.agents_by_state.items()},
        }
