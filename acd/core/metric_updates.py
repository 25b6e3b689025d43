"""The Prometheus series the core emits, as ``MetricUpdate`` commands (see docs/kpis.md).

Counters and histograms change inside ``Acd.handle``; gauges (calls waiting, oldest wait, agents
per state, each agent's state) are read from ``Acd.snapshot`` by the runtime. Each agent's time per
state is credited when the agent leaves the state, with the interval's exact length, so occupancy
is computed from the same intervals as the ``agent_states`` records. Whether a call met or breached
an SLA is decided by ``acd.core.kpis``, the same functions the reports use, so live counters and
reports count the same calls. Labels never carry caller numbers or uniqueids.
"""

from __future__ import annotations

from acd.core.commands import MetricUpdate
from acd.core.config import QueueConfig
from acd.core.kpis import handle_breached, wait_breached
from acd.core.record_types import Outcome
from acd.core.states import AgentState

CALLS_OFFERED = "acd_calls_offered_total"
CALLS_ARRIVED = "acd_calls_arrived_total"  # entered the queue (the forecast's arrival rate, docs/kpis.md)
CALLS_ANSWERED = "acd_calls_answered_total"
CALLS_ABANDONED = "acd_calls_abandoned_total"
CALLS_SHORT_ABANDONED = "acd_calls_short_abandoned_total"
CALLS_ANSWERED_WITHIN_SLA = "acd_calls_answered_within_sla_total"
CALLS_OVERFLOWED = "acd_calls_overflowed_total"
CALLS_FAILED = "acd_calls_failed_total"
CALLS_WAIT_BREACHED = "acd_calls_wait_breached_total"
CALLS_HANDLE_BREACHED = "acd_calls_handle_breached_total"
CALLS_LOST = "acd_calls_lost_total"  # closed pbx_lost, labelled by PBX (docs/pbxs.md, "A PBX dies")
CALLS_MOVED = "acd_calls_moved_total"  # left for another queue: not offered here (docs/kpis.md, "Moved calls")
CALLS_TRANSFERRED = (
    "acd_calls_transferred_total"  # an agent of this queue transferred the caller (docs/kpis.md, "Transfers")
)
# callbacks (docs/kpis.md, "Callbacks"): taken by a holding caller; closed reached or not; each dial
CALLBACKS_ACCEPTED = "acd_callbacks_accepted_total"
CALLBACKS_COMPLETED = "acd_callbacks_completed_total"
CALLBACKS_FAILED = "acd_callbacks_failed_total"
CALLBACK_TRIES = "acd_callback_tries_total"
CALLBACK_WAIT = "acd_callback_wait_seconds"
CALLBACK_RESULTS = ("reached", "noanswer", "busy", "failed")
# scheduled callbacks closed before they entered, by why (docs/kpis.md, "Scheduled callbacks")
SCHEDULED_CLOSED = "acd_scheduled_callbacks_closed_total"
SCHEDULED_CLOSED_REASONS = ("queue_removed", "number_not_allowed", "not_kept")
QUEUE_WAIT = "acd_queue_wait_seconds"
HANDLE = "acd_handle_seconds"
AGENT_STATE_SECONDS = "acd_agent_state_seconds_total"

_OUTCOME_COUNTER: dict[Outcome, str] = {
    "answered": CALLS_ANSWERED,
    "abandoned": CALLS_ABANDONED,
    "overflowed": CALLS_OVERFLOWED,
    "failed": CALLS_FAILED,
}


def inc(name: str, queue: str) -> MetricUpdate:
    return MetricUpdate(name, "inc", 1.0, (("queue", queue),))


def queue_exit(
    queue: QueueConfig, outcome: Outcome, wait: float, *, within_sla: bool, short_abandon: bool
) -> list[MetricUpdate]:
    """Everything that moves when a call leaves the queue (answer, abandon, overflow, failure)."""
    name = queue.name
    updates = [inc(CALLS_OFFERED, name), inc(_OUTCOME_COUNTER[outcome], name)]
    if within_sla:
        updates.append(inc(CALLS_ANSWERED_WITHIN_SLA, name))
    if short_abandon:
        updates.append(inc(CALLS_SHORT_ABANDONED, name))
    if wait_breached(wait, queue.max_wait_seconds):
        updates.append(inc(CALLS_WAIT_BREACHED, name))
    updates.append(MetricUpdate(QUEUE_WAIT, "observe", wait, (("queue", name), ("outcome", outcome))))
    return updates


def handled(queue: QueueConfig, handle_seconds: float) -> list[MetricUpdate]:
    """Everything that moves when an answered call's wrap-up ends (talk + wrap-up known)."""
    updates = [MetricUpdate(HANDLE, "observe", handle_seconds, (("queue", queue.name),))]
    if handle_breached(handle_seconds, queue.max_handle_seconds):
        updates.append(inc(CALLS_HANDLE_BREACHED, queue.name))
    return updates


def agent_left(agent_id: str, state: AgentState, seconds: float) -> list[MetricUpdate]:
    """The agent leaves ``state`` after ``seconds`` in it (nothing for an empty or backwards interval)."""
    if seconds <= 0:
        return []
    return [MetricUpdate(AGENT_STATE_SECONDS, "inc", seconds, (("agent", agent_id), ("state", state.value)))]


def callback_try(queue: str, status: str) -> MetricUpdate:
    """One dial of a callback's caller, by how it went: ``reached`` (ANSWER), ``noanswer``, ``busy``,
    or ``failed`` (any other DIALSTATUS: unavailable, congestion...), so the label stays bounded."""
    status = status.upper()
    result = {"ANSWER": "reached", "NOANSWER": "noanswer", "BUSY": "busy"}.get(status, "failed")
    return MetricUpdate(CALLBACK_TRIES, "inc", 1.0, (("queue", queue), ("result", result)))


def callback_wait(queue: str, seconds: float) -> MetricUpdate:
    """The time a reached callback's caller waited off the line: from taking the callback to the
    agent's accept of the try that reached them."""
    return MetricUpdate(CALLBACK_WAIT, "observe", max(0.0, seconds), (("queue", queue),))


def scheduled_closed(queue: str, reason: str) -> MetricUpdate:
    """A scheduled callback closed before it entered its queue, and why (``SCHEDULED_CLOSED_REASONS``)."""
    return MetricUpdate(SCHEDULED_CLOSED, "inc", 1.0, (("queue", queue), ("reason", reason)))
