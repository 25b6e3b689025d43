"""The Prometheus series the core emits, as ``MetricUpdate`` commands (see docs/kpis.md).

Counters and histograms change inside ``Acd.handle``; gauges (calls waiting, oldest wait, agents
per state) are read from ``Acd.snapshot`` by the runtime. Labels never carry caller numbers or
uniqueids.
"""

from __future__ import annotations

from acd.core.commands import MetricUpdate
from acd.core.records import Outcome

CALLS_OFFERED = "acd_calls_offered_total"
CALLS_ANSWERED = "acd_calls_answered_total"
CALLS_ABANDONED = "acd_calls_abandoned_total"
CALLS_SHORT_ABANDONED = "acd_calls_short_abandoned_total"
CALLS_ANSWERED_WITHIN_SLA = "acd_calls_answered_within_sla_total"
CALLS_OVERFLOWED = "acd_calls_overflowed_total"
CALLS_FAILED = "acd_calls_failed_total"
QUEUE_WAIT = "acd_queue_wait_seconds"
HANDLE = "acd_handle_seconds"

_OUTCOME_COUNTER: dict[Outcome, str] = {
    "answered": CALLS_ANSWERED,
    "abandoned": CALLS_ABANDONED,
    "overflowed": CALLS_OVERFLOWED,
    "failed": CALLS_FAILED,
}


def inc(name: str, queue: str) -> MetricUpdate:
    return MetricUpdate(name, "inc", 1.0, (("queue", queue),))


def queue_exit(
    queue: str, outcome: Outcome, wait: float, *, within_sla: bool, short_abandon: bool
) -> list[MetricUpdate]:
    """Everything that moves when a call leaves the queue (answer, abandon, overflow, failure)."""
    updates = [inc(CALLS_OFFERED, queue), inc(_OUTCOME_COUNTER[outcome], queue)]
    if within_sla:
        updates.append(inc(CALLS_ANSWERED_WITHIN_SLA, queue))
    if short_abandon:
        updates.append(inc(CALLS_SHORT_ABANDONED, queue))
    updates.append(MetricUpdate(QUEUE_WAIT, "observe", wait, (("queue", queue), ("outcome", outcome))))
    return updates


def handled(queue: str, handle_seconds: float) -> MetricUpdate:
    return MetricUpdate(HANDLE, "observe", handle_seconds, (("queue", queue),))
