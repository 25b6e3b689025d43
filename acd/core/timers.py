"""The keys of the core's timers, as a value rather than a ``"kind:id"`` string to parse.

The core arms four kinds of timer, one per subject: ``call`` (a queued call's next moment:
widening, cool-down expiry or max wait), ``ring`` (an offer's ring timeout), ``wrapup`` (an
agent's wrap-up) and ``scheduled`` (a scheduled callback's time to enter its queue). ``StartTimer``,
``CancelTimer`` and ``TimerFired`` carry the key; whoever runs the timers uses it as it is, as a dict
key, and never looks inside. Keys order like the strings
they replace (kind, then subject), so a run that fires same-time timers in key order keeps its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TimerKind = Literal["call", "ring", "wrapup", "scheduled"]


@dataclass(frozen=True, slots=True, order=True)
class TimerKey:
    kind: TimerKind
    subject: str  # the call, offer or agent id

    def __str__(self) -> str:
        return f"{self.kind}:{self.subject}"


def call_timer(call_id: str) -> TimerKey:
    return TimerKey("call", call_id)


def ring_timer(offer_id: str) -> TimerKey:
    return TimerKey("ring", offer_id)


def wrapup_timer(agent_id: str) -> TimerKey:
    return TimerKey("wrapup", agent_id)


def scheduled_timer(callback_id: str) -> TimerKey:
    """A scheduled callback's time to enter its queue (acd.core.scheduled_callbacks)."""
    return TimerKey("scheduled", callback_id)
