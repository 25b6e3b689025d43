"""Live gauges and the Erlang C and Erlang A staffing forecasts per queue.

The gauges (per queue, per state and per agent) come from the core's snapshot. The forecast needs
an arrival rate, an AHT and, for Erlang A, the callers' patience per queue: all are measured from
the same ``MetricUpdate`` stream that moves the counters over a sliding window, so the forecast and
the dashboards see the same calls. The rate counts calls *arriving* (``acd_calls_arrived_total``),
not calls leaving the queue: during a backlog few leave, and a rate of exits would ask for fewer
agents just when more are needed. The patience is the waiting time of every caller who left the
queue (answered, abandoned, overflowed, failed) over the abandons among them. The three inputs are
published beside the forecasts, so a dashboard shows why it asks for N agents. Agents "serving" a
queue are those logged in and not paused whose skills meet the queue's base requirements;
``acd_agents_logged_in{queue}`` counts those logged in, paused included.
Erlang A, which can take long on a large or fast queue, is worked out by a worker thread, never on
the event loop. Formulas: docs/kpis.md ("Erlang C", "Erlang A").
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from acd.core import erlang, erlang_a
from acd.core.commands import MetricUpdate
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig
from acd.core.metric_updates import CALLS_ARRIVED, HANDLE, QUEUE_WAIT
from acd.core.snapshot import Snapshot
from acd.core.states import AgentState
from acd.metrics import Metrics

ERLANG_A_EVERY_SECONDS = 10.0  # Erlang A is worked out again at most this often per queue (inputs move slowly)
WINDOW_SECONDS = 900.0  # 15 minutes: long enough to smooth Poisson noise, short enough to follow the day
SERVING = {AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP}


def serves(agent: AgentConfig, queue: QueueConfig) -> bool:
    skills = dict(agent.skills)
    return all(skills.get(req.skill, 0) >= req.min_proficiency for req in queue.skills)


class Forecaster:
    def __init__(self, window_seconds: float = WINDOW_SECONDS) -> None:
        self.window = window_seconds
        self._arrivals: dict[str, deque[float]] = {}
        self._handles: dict[str, deque[tuple[float, float]]] = {}
        self._exits: dict[str, deque[tuple[float, float, bool]]] = {}  # (at, waited, abandoned)
        self._started: float | None = None
        self._members: tuple[RoutingConfig, dict[str, tuple[str, ...]]] | None = None
        # Erlang A per queue: the last result (its inputs, agents required, SL), worked out off the
        # event loop by one worker thread, and the job under way with when it was asked
        self._erlang_a: dict[str, tuple[tuple[float, ...], int, float]] = {}
        self._erlang_a_jobs: dict[str, tuple[float, Future[None]]] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erlang-a")

    def observe(self, update: MetricUpdate, now: float) -> None:
        if self._started is None:
            self._started = now
        labels = dict(update.labels)
        queue = labels.get("queue")
        if queue is None:
            return
        if update.name == CALLS_ARRIVED:
            self._arrivals.setdefault(queue, deque()).append(now)
        elif update.name == HANDLE:
            self._handles.setdefault(queue, deque()).append((now, update.value))
        elif update.name == QUEUE_WAIT:
            abandoned = labels.get("outcome") == "abandoned"
            self._exits.setdefault(queue, deque()).append((now, update.value, abandoned))

    def _trim(self, now: float) -> None:
        edge = now - self.window
        for arrivals in self._arrivals.values():
            while arrivals and arrivals[0] < edge:
                arrivals.popleft()
        for handles in self._handles.values():
            while handles and handles[0][0] < edge:
                handles.popleft()
        for exits in self._exits.values():
            while exits and exits[0][0] < edge:
                exits.popleft()

    def patience(self, queue: str, now: float) -> float:
        """Mean seconds a caller waits before giving up: waited / abandoned over the window's exits.

        The exponential model's estimate, callers answered or moved on before giving up counting as
        having waited that long at least; +Inf while nobody abandoned (Erlang A is then Erlang C).
        """
        self._trim(now)
        exits = self._exits.get(queue, ())
        abandons = sum(1 for _, _, abandoned in exits if abandoned)
        if abandons == 0:
            return math.inf
        return max(1.0, sum(waited for _, waited, _ in exits)) / abandons

    def rate_and_aht(self, queue: str, now: float) -> tuple[float, float] | None:
        """Arrivals per second and mean handle seconds over the window; None until both are known."""
        self._trim(now)
        arrivals = self._arrivals.get(queue, deque())
        handles = self._handles.get(queue, deque())
        if self._started is None or not arrivals or not handles:
            return None
        span = max(1.0, min(self.window, now - self._started))
        return len(arrivals) / span, sum(h for _, h in handles) / len(handles)

    def publish(self, metrics: Metrics, snapshot: Snapshot, config: RoutingConfig, now: float) -> None:
        for name, view in snapshot.queues.items():
            metrics.calls_waiting.labels(name).set(view.waiting)
            metrics.oldest_wait.labels(name).set(view.oldest_wait)
            metrics.callbacks_pending.labels(name).set(view.callbacks)
        for state, count in snapshot.agents_by_state.items():
            metrics.agents.labels(state.value).set(count)
        metrics.set_agent_states({agent_id: view.state.value for agent_id, view in snapshot.agents.items()})
        logged_in, serving = self.staffing(config, snapshot)
        for name, count in logged_in.items():
            metrics.agents_logged_in.labels(name).set(count)
        for queue in config.queues:
            measured = self.rate_and_aht(queue.name, now)
            if measured is None:
                continue
            rate, aht = measured
            patience = self.patience(queue.name, now)
            threshold, target, agents = queue.sla_threshold_seconds, queue.sla_target_ratio, serving[queue.name]
            metrics.forecast_rate.labels(queue.name).set(rate)
            metrics.forecast_aht.labels(queue.name).set(aht)
            metrics.forecast_patience.labels(queue.name).set(patience)
            metrics.agents_required.labels(queue.name).set(erlang.agents_required(rate, aht, threshold, target))
            metrics.predicted_sl.labels(queue.name).set(erlang.service_level(rate, aht, agents, threshold))
            known = self._erlang_a_of(queue.name, (rate, aht, patience, threshold, target), agents)
            if known is not None:
                metrics.agents_required_a.labels(queue.name).set(known[0])
                metrics.predicted_sl_a.labels(queue.name).set(known[1])

    def _erlang_a_of(
        self, queue: str, inputs: tuple[float, float, float, float, float], agents: int
    ) -> tuple[int, float] | None:
        """Erlang A's agents required and service level: the last result, asked again when an input
        moved (and the last ask is over and ERLANG_A_EVERY_SECONDS old); None until the first is in.

        Erlang A costs milliseconds where Erlang C costs microseconds, and up to seconds for a large
        or fast queue: a worker thread works it out so the event loop never waits for it.
        """
        key = (*(float(f"{x:.4g}") for x in inputs), float(agents))
        known = self._erlang_a.get(queue)
        job = self._erlang_a_jobs.get(queue)
        stale = known is None or known[0] != key
        idle = job is None or (job[1].done() and time.monotonic() - job[0] >= ERLANG_A_EVERY_SECONDS)
        if stale and idle:
            self._erlang_a_jobs[queue] = (
                time.monotonic(),
                self._worker.submit(self._work_out, queue, key, inputs, agents),
            )
        return None if known is None else (known[1], known[2])

    def _work_out(
        self, queue: str, key: tuple[float, ...], inputs: tuple[float, float, float, float, float], agents: int
    ) -> None:
        rate, aht, patience, threshold, target = inputs
        required = erlang_a.agents_required(rate, aht, patience, threshold, target)
        predicted = erlang_a.service_level(rate, aht, patience, agents, threshold)
        self._erlang_a[queue] = (key, required, predicted)  # one assignment: read whole by the loop

    def settle(self, timeout: float = 10.0) -> None:
        """Wait for the Erlang A work under way (tests, and a publish that must show the latest)."""
        for _, job in list(self._erlang_a_jobs.values()):
            job.result(timeout)

    def forecasts(self, snapshot: Snapshot, config: RoutingConfig, now: float) -> dict[str, float]:
        """Per queue, Erlang C's service level and ASA with the agents serving it now, keyed
        ``"service_level:<queue>"`` and ``"asa:<queue>"`` (an objective's projection, docs/kpis.md
        "Objectives"); a queue whose rate or AHT is not measured yet, or that no staffing holds, has none."""
        _, serving = self.staffing(config, snapshot)
        found: dict[str, float] = {}
        for queue in config.queues:
            measured = self.rate_and_aht(queue.name, now)
            if measured is None:
                continue
            rate, aht = measured
            found[f"service_level:{queue.name}"] = erlang.service_level(
                rate, aht, serving[queue.name], queue.sla_threshold_seconds
            )
            wait = erlang.asa(rate, aht, serving[queue.name])
            if math.isfinite(wait):
                found[f"asa:{queue.name}"] = wait
        return found

    def staffing(self, config: RoutingConfig, snapshot: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
        """Per queue: agents logged in (paused included), and agents serving (as ``staffed`` counts them).

        Which agent holds which queue's base skills is worked out once per config, so the refresh
        every second is one pass over the agents, not agents x queues skill checks (2,000 agents
        and 50 queues: under a millisecond instead of about a hundred).
        """
        if self._members is None or self._members[0] is not config:
            queues_of = {a.id: tuple(q.name for q in config.queues if serves(a, q)) for a in config.agents}
            self._members = (config, queues_of)
        logged_in = dict.fromkeys((q.name for q in config.queues), 0)
        serving = dict(logged_in)
        for agent_id, names in self._members[1].items():
            view = snapshot.agents.get(agent_id)
            if view is None or view.state is AgentState.LOGGED_OUT:
                continue
            works = view.state in SERVING and view.reachable
            for name in names:
                logged_in[name] += 1
                if works:
                    serving[name] += 1
        return logged_in, serving


def staffed(queue: QueueConfig, agents: Iterable[AgentConfig], snapshot: Snapshot) -> int:
    count = 0
    for agent in agents:
        view = snapshot.agents.get(agent.id)
        if view is not None and view.state in SERVING and view.reachable and serves(agent, queue):
            count += 1
    return count
