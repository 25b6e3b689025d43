"""The routing config as a document: ``skills``, ``queues``, ``agents`` and ``objectives`` in acd.toml's
shape, as JSON.

This is what a config revision stores and what the REST API shows and edits. Going through the
document (rather than editing ``RoutingConfig`` values) means a change made through the API is
checked by the very code that checks the file (``acd.settings.routing_from_document``), and that a
stored revision reads like the file's sections. Every field is written out, defaults included, so a
revision says exactly what was in force.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement, default_resolving
from acd.core.hours import WEEKDAYS, OpeningHours
from acd.core.objectives import Objective

Document = dict[str, Any]


def _levels(requirements: Iterable[SkillRequirement]) -> dict[str, int]:
    return {r.skill: r.min_proficiency for r in requirements}


def queue_fields(queue: QueueConfig) -> dict[str, Any]:
    """One ``[queues.NAME]`` table."""
    return {
        "skills": _levels(queue.skills),
        "sla_threshold": queue.sla_threshold_seconds,
        "sla_target": queue.sla_target_ratio,
        "max_wait": queue.max_wait_seconds,
        "overflow": queue.overflow_target,
        "wrapup": queue.wrapup_seconds,
        "max_handle": queue.max_handle_seconds,
        "widening": [
            {
                "after": w.after_seconds,
                "min_proficiency_drop": w.min_proficiency_drop,
                "extra_skills": _levels(w.extra_skills),
            }
            for w in queue.widening
        ],
        "vip_priority_boost": queue.vip_priority_boost,
        "dispositions": list(queue.dispositions),
        # left out when it is the catalogue's default, so a change of the catalogue alone keeps it so
        **(
            {}
            if queue.resolving_dispositions == default_resolving(queue.dispositions)
            else {"resolving": list(queue.resolving_dispositions)}
        ),
        "otf": {
            "answer": queue.otf.answer,
            "handle": queue.otf.handle,
            "resolving": queue.otf.resolving,
            "repeat_window": queue.otf.repeat_window_seconds,
            # left out: orders are judged as any call (a null is not a number the file would take)
            **({} if queue.otf.order_promise_seconds is None else {"order_promise": queue.otf.order_promise_seconds}),
            **({} if queue.otf.target is None else {"target": queue.otf.target}),
        },
        "record": queue.record,
        "hours": None if queue.hours is None else hours_fields(queue.hours),
        "empty_overflow": queue.empty_overflow_seconds,
        # left out, never offered (a null is not a number the file would take)
        **({} if queue.callback_after_seconds is None else {"callback_after": queue.callback_after_seconds}),
        "callback_attempts": queue.callback_attempts,
        "callback_gap": queue.callback_gap_seconds,
        "scheduled_callback_priority": queue.scheduled_callback_priority,
        # left out: no diversion at entry (a null is not a number the file would take)
        **({} if queue.ewt_limit_seconds is None else {"ewt_limit": queue.ewt_limit_seconds}),
        "ewt_action": queue.ewt_action,
        "announce_waited": queue.announce_waited,
    }


def _clock(second: int) -> str:
    return f"{second // 3600:02d}:{second % 3600 // 60:02d}"


def hours_fields(hours: OpeningHours) -> dict[str, Any]:
    """A ``[queues.NAME.hours]`` table: zone, the week day by day, holidays, closed treatment."""
    week = {
        day: [f"{_clock(o.start)}-{_clock(o.end)}" for o in hours.weekly if o.weekday == i]
        for i, day in enumerate(WEEKDAYS)
    }
    return {
        "zone": hours.zone_name,
        **week,
        "holidays": list(hours.holidays),
        "closed": hours.closed_target,
        "announcement": hours.announcement,
    }


def agent_fields(agent: AgentConfig) -> dict[str, Any]:
    """One ``[agents.ID]`` table."""
    return {"name": agent.name, "endpoint": agent.endpoint, "skills": dict(agent.skills), "team": agent.team}


def objective_fields(objective: Objective) -> dict[str, Any]:
    """One ``[objectives.NAME]`` table: the scope as its one key (``queue``, ``queues``, ``agent``, ``team``)."""
    scope: Any = list(objective.members) if objective.scope == "queues" else objective.members[0]
    fields: dict[str, Any] = {
        "metric": objective.metric,
        "comparison": objective.comparison,
        "target": objective.target,
        objective.scope: scope,
        "period": objective.period,
    }
    if objective.period == "dates":
        fields["from"], fields["to"] = objective.first, objective.last
    return {**fields, "owner": objective.owner, "note": objective.note}


def used_skills(config: RoutingConfig) -> set[str]:
    """Every skill a queue requires (widening included) or an agent holds."""
    return (
        {r.skill for q in config.queues for r in q.skills}
        | {r.skill for q in config.queues for w in q.widening for r in w.extra_skills}
        | {name for a in config.agents for name, _ in a.skills}
    )


def document_of(config: RoutingConfig, skills: Iterable[str] = ()) -> Document:
    """The document of ``config``; ``skills`` are the declared ones (those in use are always listed)."""
    return {
        "skills": sorted(set(skills) | used_skills(config)),
        "queues": {q.name: queue_fields(q) for q in config.queues},
        "agents": {a.id: agent_fields(a) for a in config.agents},
        "objectives": {o.name: objective_fields(o) for o in config.objectives},
    }


def skill_users(document: Document, skill: str) -> dict[str, list[str]]:
    """The queues and agents whose tables name ``skill`` (required, widened to, or held)."""
    queues = sorted(
        name
        for name, q in document["queues"].items()
        if skill in q.get("skills", {}) or any(skill in w.get("extra_skills", {}) for w in q.get("widening", []))
    )
    agents = sorted(agent_id for agent_id, a in document["agents"].items() if skill in a.get("skills", {}))
    return {"queues": queues, "agents": agents}
