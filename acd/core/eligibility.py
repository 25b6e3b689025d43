"""Who may take a call from a queue, and how well they match: skills, proficiency, widening.

A queue's requirements depend on how long a call has waited: at *widening level* L the first L
widening steps (sorted by ``after_seconds``) apply. Level 0 is the queue's own skills.

- **Proficiency drop**: the greatest ``min_proficiency_drop`` among the applied steps lowers every
  minimum of the queue's own skills (never below 1). Drops do not add up, so a step written as
  "after 60 s, drop 2" means exactly that.
- **Extra skills** accumulate over the applied steps; each is taken at its own minimum.

Eligibility only grows with the level, which lets routing index agents per (queue, level).

**Best proficiency match** is a key, smaller is better: ``(tier, -score)``.
Tier 0: the agent has every one of the queue's own skills at the (dropped) minimum; score is the sum
of the agent's proficiencies over those skills, so a generalist strong in all of them beats a
specialist strong in one. Tier 1: eligible only through an extra (fallback) skill; score is the
agent's best proficiency among the qualifying extra skills. Any tier-0 agent beats any tier-1 agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from acd.core.config import QueueConfig, SkillRequirement, WideningStep

Match = tuple[int, int]  # (tier, -score)
SkillMiss = Literal["lacking_skill", "proficiency_too_low"]


@dataclass(frozen=True, slots=True)
class Requirements:
    """What an agent needs at one widening level."""

    base: tuple[SkillRequirement, ...]
    extra: tuple[SkillRequirement, ...]


def widening_steps(queue: QueueConfig) -> tuple[WideningStep, ...]:
    # Sorted with the original position as tie-break, so equal times keep config order.
    ordered = sorted(enumerate(queue.widening), key=lambda p: (p[1].after_seconds, p[0]))
    return tuple(step for _, step in ordered)


def requirements(queue: QueueConfig, level: int) -> Requirements:
    applied = widening_steps(queue)[:level]
    drop = max((s.min_proficiency_drop for s in applied), default=0)
    base = tuple(SkillRequirement(r.skill, max(1, r.min_proficiency - drop)) for r in queue.skills)
    extra = tuple(r for s in applied for r in s.extra_skills)
    return Requirements(base, extra)


def max_level(queue: QueueConfig) -> int:
    return len(queue.widening)


def level_at(queue: QueueConfig, enqueued_at: float, now: float) -> int:
    """The widening level at ``now`` of a call enqueued at ``enqueued_at``.

    Compared as absolute times, the same sums the timers use, so a timer that fires at exactly
    ``enqueued_at + after_seconds`` always finds its step applied despite float rounding.
    """
    return sum(1 for s in queue.widening if enqueued_at + s.after_seconds <= now)


def next_widening_at(queue: QueueConfig, level: int, enqueued_at: float) -> float | None:
    steps = widening_steps(queue)
    if level >= len(steps):
        return None
    return enqueued_at + steps[level].after_seconds


def match(skills: Mapping[str, int], req: Requirements) -> Match | SkillMiss:
    """The agent's match key for these requirements, or why the agent does not qualify."""
    held_all = True
    score = 0
    for r in req.base:
        prof = skills.get(r.skill)
        if prof is None:
            held_all = False
            break
        score += prof
    if held_all and all(skills[r.skill] >= r.min_proficiency for r in req.base):
        return (0, -score)
    best_extra = max((skills[r.skill] for r in req.extra if skills.get(r.skill, 0) >= r.min_proficiency), default=None)
    if best_extra is not None:
        return (1, -best_extra)
    if held_all or any(r.skill in skills for r in req.extra):
        return "proficiency_too_low"
    return "lacking_skill"


def queue_matches(skills: Mapping[str, int], queue: QueueConfig) -> dict[int, Match]:
    """The agent's match at every widening level where it is eligible for ``queue``."""
    out: dict[int, Match] = {}
    for level in range(max_level(queue) + 1):
        m = match(skills, requirements(queue, level))
        if not isinstance(m, str):
            out[level] = m
    return out
