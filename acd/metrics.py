"""Prometheus series for the ACD: the names of docs/kpis.md ("Live metrics"), and nothing else.

Counters and histograms move only through the core's ``MetricUpdate`` commands, so the live
figures follow the same KPI definitions as the records (docs/kpis.md); the OTF counters alone move
through the verdicts ``acd.core.otf.OtfLedger`` settles from the core's interaction records
(``count_otf``), since a verdict settles when a window closes, not at an event of the core. Gauges are set from the
core's snapshot. No caller number or uniqueid is ever a label; per-agent series carry the agent's
configured id. The AMI adapter's own counts (malformed messages) are brought in from its counters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from acd.ami.fields import REASONS
from acd.core.commands import MetricUpdate
from acd.core.config import AgentConfig, QueueConfig
from acd.core.errors import AcdError
from acd.core.metric_updates import AGENT_STATE_SECONDS, CALLBACK_RESULTS, CALLBACK_TRIES, CALLS_LOST, SCHEDULED_CLOSED
from acd.core.objectives import STATUSES as OBJECTIVE_STATUSES
from acd.core.otf import Verdict
from acd.core.record_types import Outcome
from acd.kamailio.rpc import FAILURES as KAMAILIO_FAILURES
from acd.records.pipeline.quarantine import KINDS as QUARANTINE_KINDS

BASE_WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
CALLBACK_WAIT_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
HANDLE_BUCKETS = (15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
OUTCOMES: tuple[Outcome, ...] = ("answered", "abandoned", "overflowed", "failed")
AGENT_STATES = ("logged_out", "ready", "reserved", "on_call", "wrap_up", "paused", "consulting")
# acd_ami_malformed{reason}: "wire", a block that is neither an event nor a response (the link's
# framing); "translate", an event the translator refused (any reason of acd_ami_refused); "oversize",
# a frame that did not end within the decoder's cap (dropped up to its end).
AMI_MALFORMED_REASONS = ("wire", "translate", "oversize")


AMI_REFUSED_REASONS = REASONS  # acd_ami_refused{reason}: why an AMI event was not believed
REDIRECT_ACTIONS = ("ring", "overflow")  # acd.ami.control's kinds of watched Redirect
KAMAILIO_READS = ("location", "dispatcher")  # acd_kamailio_reads_failed{read}: what was read (acd.kamailio)


def refusal_kinds() -> tuple[str, ...]:
    """The ``error`` label values of refused events: each kind of AcdError, and "internal" (a bug)."""
    kinds: list[str] = []
    pending: list[type[AcdError]] = [AcdError]
    while pending:
        cls = pending.pop()
        kinds.append(cls.__name__)
        pending.extend(cls.__subclasses__())
    return (*sorted(kinds), "internal")


def wait_buckets(queues: Iterable[QueueConfig]) -> tuple[float, ...]:
    """Bucket edges that include every queue's SLA threshold, so SL can be read off the histogram."""
    edges = set(BASE_WAIT_BUCKETS) | {q.sla_threshold_seconds for q in queues}
    return tuple(sorted(edges))


@dataclass(frozen=True, slots=True)
class ObjectiveFigures:
    """One objective's figures as ``acd.records.objectives`` stands them (docs/kpis.md, "Objectives")."""

    metric: str
    target: float
    attainment: float | None
    projection: float | None
    status: str


class ObjectiveSeries(Collector):
    """``acd_objective_attainment|projection|target{objective,metric}`` and ``acd_objective_status{objective,status}``
    (1 for the current status, 0 for the others), from the latest standing of each configured objective.
    An attainment or projection that is undefined (nothing counted yet) has no sample."""

    def __init__(self) -> None:
        self.figures: dict[str, ObjectiveFigures] = {}

    def _families(self) -> list[GaugeMetricFamily]:
        labels = ["objective", "metric"]
        return [
            GaugeMetricFamily(
                "acd_objective_attainment", "The objective's metric over its period so far", labels=labels
            ),
            GaugeMetricFamily(
                "acd_objective_projection", "The objective's metric projected to its period's end", labels=labels
            ),
            GaugeMetricFamily("acd_objective_target", "The objective's target", labels=labels),
            GaugeMetricFamily(
                "acd_objective_status", "1 for the objective's status, 0 for the others", labels=["objective", "status"]
            ),
        ]

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        attainment, projection, target, status = self._families()
        for name, f in list(self.figures.items()):
            if f.attainment is not None:
                attainment.add_metric((name, f.metric), f.attainment)
            if f.projection is not None:
                projection.add_metric((name, f.metric), f.projection)
            target.add_metric((name, f.metric), f.target)
            for each in OBJECTIVE_STATUSES:
                status.add_metric((name, each), 1.0 if each == f.status else 0.0)
        yield from (attainment, projection, target, status)


OTF_QUEUE_SERIES = {  # docs/kpis.md, "OTF and FCR"
    "acd_otf_settled_total": "Interactions whose OTF verdict settled (offered, short abandons apart)",
    "acd_otf_on_time_total": "Settled interactions that were on time",
    "acd_otf_full_total": "Settled interactions closed full: a resolving disposition and no repeat contact",
    "acd_otf_met_total": "Settled interactions on time and full (OTF)",
    "acd_fcr_handled_total": "Settled handled interactions (the FCR denominator)",
}
OTF_AGENT_SERIES = {
    "acd_agent_otf_settled_total": "Settled OTF verdicts of the interactions each agent answered",
    "acd_agent_otf_met_total": "Of those, on time and full",
}
OTF_KIND_SERIES = {
    "acd_otf_kind_settled_total": "Settled handled interactions per disposition kind",
    "acd_otf_kind_met_total": "Of those, on time and full",
}


def otf_kinds(queue: QueueConfig) -> list[str]:
    """The ``kind`` label values of a queue: its catalogue's kinds, ``none`` and ``other`` (bounded)."""
    return [*sorted({code.split("/", 1)[0] for code in queue.dispositions}), "none", "other"]


class AgentSeries(Collector):
    """``acd_agent_state{agent,state}`` and ``acd_agent_state_seconds_total{agent,state}``, from two dicts.

    Twelve series per agent. As prometheus_client children (a lock each, a ``_created`` sample per
    counter) 2,000 agents made a scrape about 290 ms longer; rendered from plain dicts, about 160 ms
    (bench/bench_metrics.py: 40 ms without per-agent series), and crediting a state's seconds is one
    list addition.
    """

    STATE_HELP = "1 for the agent's current state, 0 for the others"
    SECONDS_HELP = "Seconds each agent spent in each state, counted when the agent leaves the state"
    _INDEX: ClassVar[dict[str, int]] = {state: i for i, state in enumerate(AGENT_STATES)}

    def __init__(self) -> None:
        self.states: dict[str, str] = {}  # configured agent -> current state
        self.seconds: dict[str, list[float]] = {}  # every agent ever seen -> seconds, in AGENT_STATES order

    def _families(self) -> tuple[GaugeMetricFamily, CounterMetricFamily]:
        labels = ["agent", "state"]
        return (
            GaugeMetricFamily("acd_agent_state", self.STATE_HELP, labels=labels),
            CounterMetricFamily(AGENT_STATE_SECONDS, self.SECONDS_HELP, labels=labels),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        gauge, counter = self._families()
        for agent_id, current in list(self.states.items()):
            for state in AGENT_STATES:
                gauge.add_metric((agent_id, state), 1.0 if state == current else 0.0)
        for agent_id, totals in list(self.seconds.items()):
            for state, total in zip(AGENT_STATES, totals, strict=True):
                counter.add_metric((agent_id, state), total)
        yield gauge
        yield counter

    def add_seconds(self, agent_id: str, state: str, seconds: float) -> None:
        if state not in self._INDEX or seconds < 0:
            raise ValueError(f"cannot add {seconds} s to agent {agent_id}'s state {state!r}")
        self._totals(agent_id)[self._INDEX[state]] += seconds

    def set_states(self, states: Mapping[str, str]) -> None:
        """Each configured agent's state now; an agent left out is no longer configured (no state shown).

        An agent seen for the first time gets its six seconds series at zero, so ``increase()`` sees
        its first interval. Seconds are never dropped (a counter never goes back).
        """
        for agent_id, state in states.items():
            if state not in self._INDEX:
                raise ValueError(f"agent {agent_id}: unknown state {state!r}")
            if agent_id not in self.seconds:
                self._totals(agent_id)
        self.states = dict(states)

    def _totals(self, agent_id: str) -> list[float]:
        totals = self.seconds.get(agent_id)
        if totals is None:
            totals = self.seconds[agent_id] = [0.0] * len(AGENT_STATES)
        return totals


class Metrics:
    """One registry per service, so tests and several instances never share series."""

    def __init__(
        self, queues: Iterable[QueueConfig], agents: Iterable[AgentConfig] = (), pbxs: Iterable[str] = ("pbx",)
    ) -> None:
        queues = tuple(queues)
        self.registry = CollectorRegistry()
        r = self.registry
        q = ["queue"]
        self.counters = {
            name: Counter(name.removesuffix("_total"), text, q, registry=r)
            for name, text in (
                ("acd_calls_offered_total", "Calls that left a queue, counted at their exit (docs/kpis.md)"),
                (
                    "acd_calls_arrived_total",
                    "Arrivals: calls entering a queue new, moved, overflowed or transferred in; scheduled callbacks",
                ),
                ("acd_calls_answered_total", "Calls answered by an agent"),
                ("acd_calls_abandoned_total", "Calls whose caller hung up while waiting (short abandons included)"),
                ("acd_calls_short_abandoned_total", "Abandons before the short-abandon cut-off (docs/kpis.md)"),
                ("acd_calls_failed_total", "Calls that ended on a technical failure before an answer"),
                ("acd_calls_answered_within_sla_total", "Calls answered within their queue's SLA threshold"),
                ("acd_calls_overflowed_total", "Calls sent to their queue's overflow target"),
                ("acd_calls_wait_breached_total", "Calls that left the queue having waited max_wait_seconds or more"),
                ("acd_calls_handle_breached_total", "Answered calls whose talk + wrap-up exceeded max_handle_seconds"),
                ("acd_calls_moved_total", "Calls a supervisor moved from this queue to another (not offered here)"),
                ("acd_calls_transferred_total", "Answered calls an agent of this queue transferred elsewhere"),
                (
                    "acd_callbacks_accepted_total",
                    "Callbacks taken: a holding caller's (keeping their place), a scheduled one's as it enters",
                ),
                ("acd_callbacks_completed_total", "Callbacks whose caller was reached, the conversation over"),
                ("acd_callbacks_failed_total", "Callbacks closed failed: the caller not reached on the last try"),
            )
        }
        self.histograms = {
            "acd_queue_wait_seconds": Histogram(
                "acd_queue_wait_seconds",
                "Time from first enqueue to leaving the queue",
                ["queue", "outcome"],
                buckets=wait_buckets(queues),
                registry=r,
            ),
            "acd_callback_wait_seconds": Histogram(
                "acd_callback_wait_seconds",
                "Time a reached callback's caller waited off the line: from taking it to the agent's accept",
                q,
                buckets=CALLBACK_WAIT_BUCKETS,
                registry=r,
            ),
            "acd_handle_seconds": Histogram(
                "acd_handle_seconds",
                "Talk plus wrap-up per answered call",
                q,
                buckets=HANDLE_BUCKETS,
                registry=r,
            ),
        }
        # OTF and FCR (docs/kpis.md, "OTF and FCR"): +1 when an interaction's verdict settles
        self.otf_counters = {
            name: Counter(name.removesuffix("_total"), text, q, registry=r) for name, text in OTF_QUEUE_SERIES.items()
        }
        self.otf_agent = {
            name: Counter(name.removesuffix("_total"), text, ["agent"], registry=r)
            for name, text in OTF_AGENT_SERIES.items()
        }
        self.otf_kind = {
            name: Counter(name.removesuffix("_total"), text, ["queue", "kind"], registry=r)
            for name, text in OTF_KIND_SERIES.items()
        }
        self.otf_pending = Gauge(
            "acd_otf_pending",
            "Answered interactions whose OTF verdict is not settled yet: open, or their repeat-contact window not over",
            q,
            registry=r,
        )
        self.calls_waiting = Gauge("acd_calls_waiting", "Callers waiting now", q, registry=r)
        self.callback_tries = Counter(
            "acd_callback_tries",
            "Dials of a callback's caller, by result (reached, noanswer, busy, failed)",
            ["queue", "result"],
            registry=r,
        )
        self.scheduled_closed = Counter(
            SCHEDULED_CLOSED.removesuffix("_total"),
            "Scheduled callbacks closed before they entered their queue, by reason "
            "(queue_removed, number_not_allowed, not_kept)",
            ["queue", "reason"],
            registry=r,
        )
        self.callbacks_pending = Gauge(
            "acd_callbacks_pending", "Callbacks waiting in their place (part of acd_calls_waiting)", q, registry=r
        )
        self.oldest_wait = Gauge("acd_oldest_wait_seconds", "Wait of the longest-waiting caller", q, registry=r)
        self.agents = Gauge("acd_agents", "Agents per state", ["state"], registry=r)
        self.per_agent = AgentSeries()
        r.register(self.per_agent)
        self.objectives = ObjectiveSeries()
        r.register(self.objectives)
        self.agents_logged_in = Gauge(
            "acd_agents_logged_in",
            "Agents logged in (paused included) who hold the queue's base skills",
            q,
            registry=r,
        )
        self.sla_threshold = Gauge("acd_sla_threshold_seconds", "SLA threshold T", q, registry=r)
        self.sla_target = Gauge("acd_sla_target_ratio", "SLA target ratio", q, registry=r)
        self.otf_target = Gauge("acd_otf_target_ratio", "OTF target ratio ([queues.NAME.otf] target)", q, registry=r)
        self.agents_required = Gauge("acd_agents_required", "Erlang C agents needed for the SLA", q, registry=r)
        self.predicted_sl = Gauge(
            "acd_predicted_service_level", "Erlang C service level with the agents logged in", q, registry=r
        )
        self.agents_required_a = Gauge(
            "acd_agents_required_erlang_a", "Erlang A agents needed for the SLA (callers abandon)", q, registry=r
        )
        self.predicted_sl_a = Gauge(
            "acd_predicted_service_level_erlang_a", "Erlang A service level with the agents serving", q, registry=r
        )
        self.forecast_rate = Gauge(
            "acd_forecast_arrival_rate", "Calls arriving per second, the forecast's input", q, registry=r
        )
        self.forecast_aht = Gauge(
            "acd_forecast_aht_seconds", "Mean handle seconds, the forecast's input", q, registry=r
        )
        self.forecast_patience = Gauge(
            "acd_forecast_patience_seconds",
            "Callers' mean patience (waited / abandoned; +Inf: no abandon), Erlang A's input",
            q,
            registry=r,
        )
        # one series per PBX the ACD links to (docs/pbxs.md): its name from acd.toml
        self.ami_connected = Gauge("acd_ami_connected", "1 while the AMI link to the PBX is up", ["pbx"], registry=r)
        self.pbx_misconfigured = Gauge(  # docs/pbxs.md: several PBXs, each's Uniqueids must name it
            "acd_pbx_misconfigured",
            "1 while the PBX's SystemName is not its configured name or could not be read",
            ["pbx"],
            registry=r,
        )
        self.pbx_calls = Gauge(  # docs/pbxs.md: the floor's spread over the PBXs, as the ACD sees it
            "acd_pbx_calls",
            "Open calls whose caller is on the PBX (waiting, ringing or talking; callbacks aside)",
            ["pbx"],
            registry=r,
        )
        self.outbox_backlog = Gauge("acd_outbox_backlog", "Records journaled but not yet in PostgreSQL", registry=r)
        # the leadership lease (docs/standby.md): 1 while this process leads, its epoch, its terms won
        self.leader = Gauge("acd_leader", "1 while this ACD process leads (routes calls)", ["instance"], registry=r)
        self.epoch = Gauge("acd_epoch", "The epoch of this process's lease (0: standby)", registry=r)
        self.takeovers = Counter(
            "acd_takeovers", "Times this process took the lease (a start that leads: one)", registry=r
        )
        self.decision_seconds = Histogram(
            "acd_routing_decision_seconds",
            "Time the core takes to handle one event",
            buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
            registry=r,
        )
        # the AMI series are per PBX (docs/pbxs.md, "Metrics that gain a pbx label"); ``set_pbxs`` makes them
        self.ami_events = Counter("acd_ami_events", "AMI events received", ["pbx"], registry=r)
        self.calls_lost = Counter(  # docs/pbxs.md, "A PBX dies"
            "acd_calls_lost", "Calls closed pbx_lost: their PBX was lost", ["pbx"], registry=r
        )
        self.ami_malformed = Counter(
            "acd_ami_malformed", "AMI messages logged and dropped", ["pbx", "reason"], registry=r
        )
        self._ami_malformed_exported: dict[tuple[str, str], int] = {}
        self.redirects_lost = Counter(
            "acd_ami_redirects_lost",
            "Redirects Asterisk accepted that never landed (then routed or sent again)",
            ["pbx", "action"],
            registry=r,
        )
        self.refused_events = Counter("acd_refused_events", "Events the core refused", ["error"], registry=r)
        self.records_quarantined = Counter(
            "acd_records_quarantined",
            "Records the outbox put in quarantine instead of PostgreSQL (docs/records.md)",
            ["reason"],
            registry=r,
        )
        self.ami_refused = Counter(
            "acd_ami_refused",
            "AMI events the translator did not believe, by reason (acd.ami.fields.REASONS)",
            ["pbx", "reason"],
            registry=r,
        )
        self.set_pbxs(pbxs)
        # [kamailio] (docs/pbxs.md): every series from the start, at 0 (also without Kamailio: the alert's
        # expression is the same for every deployment)
        self.kamailio_reads_failed = Counter(
            "acd_kamailio_reads_failed",
            "Reads of Kamailio's location table or dispatcher that failed; the last view stays (docs/pbxs.md)",
            ["read", "reason"],
            registry=r,
        )
        for read in KAMAILIO_READS:
            for reason in KAMAILIO_FAILURES:
                self.kamailio_reads_failed.labels(read, reason)
        self._queues: set[str] = set()
        self.set_queues(queues)
        for state in AGENT_STATES:
            self.agents.labels(state).set(0)
        for error in refusal_kinds():
            self.refused_events.labels(error)
        for kind in QUARANTINE_KINDS:
            self.records_quarantined.labels(kind)
        # The core starts every agent logged out; the snapshot refresh takes over from there.
        self.per_agent.set_states({agent.id: "logged_out" for agent in agents})
        for agent in agents:
            for counter in self.otf_agent.values():
                counter.labels(agent.id)

    def set_queues(self, queues: Iterable[QueueConfig]) -> None:
        """The queues now configured (at start, and after each change through the API).

        A new queue's series all exist at zero at once, so that Prometheus's increase() sees its
        first call (a series born at 1 would hide it). A removed queue's gauges go (a frozen
        "callers waiting" would lie on a dashboard); its counters stay, they are its history.
        """
        queues = tuple(queues)
        for queue in queues:
            self.sla_threshold.labels(queue.name).set(queue.sla_threshold_seconds)
            self.sla_target.labels(queue.name).set(queue.sla_target_ratio)
            if queue.otf.target is not None:
                self.otf_target.labels(queue.name).set(queue.otf.target)
            else:  # no target (any more): no series, rather than a target of 0
                with contextlib.suppress(KeyError):
                    self.otf_target.remove(queue.name)
            if queue.name in self._queues:
                continue
            for counter in self.counters.values():
                counter.labels(queue.name)
            for counter in self.otf_counters.values():
                counter.labels(queue.name)
            for kind in otf_kinds(queue):
                for counter in self.otf_kind.values():
                    counter.labels(queue.name, kind)
            self.otf_pending.labels(queue.name).set(0)
            for outcome in OUTCOMES:
                self.histograms["acd_queue_wait_seconds"].labels(queue.name, outcome)
            self.histograms["acd_handle_seconds"].labels(queue.name)
            self.histograms["acd_callback_wait_seconds"].labels(queue.name)
            for result in CALLBACK_RESULTS:
                self.callback_tries.labels(queue.name, result)
            self.calls_waiting.labels(queue.name).set(0)
            self.callbacks_pending.labels(queue.name).set(0)
            self.oldest_wait.labels(queue.name).set(0)
            self.agents_logged_in.labels(queue.name).set(0)
        names = {q.name for q in queues}
        for gone in sorted(self._queues - names):
            for gauge in (
                self.sla_threshold,
                self.sla_target,
                self.otf_target,
                self.calls_waiting,
                self.callbacks_pending,
                self.oldest_wait,
                self.agents_logged_in,
                self.otf_pending,
                *self.forecast_gauges(),
            ):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        self._queues = names
        self._otf_kinds = {q.name: frozenset(otf_kinds(q)) for q in queues}

    def count_otf(self, verdicts: Iterable[Verdict]) -> None:
        """Count settled OTF verdicts (``acd.core.otf.OtfLedger``): per queue, per agent, per queue and
        disposition kind (a kind outside the queue's catalogue is ``other``, none is ``none``)."""
        for v in verdicts:
            for name, hit in (
                ("acd_otf_settled_total", True),
                ("acd_otf_on_time_total", v.on_time),
                ("acd_otf_full_total", v.full),
                ("acd_otf_met_total", v.otf),
                ("acd_fcr_handled_total", v.handled),
            ):
                if hit:
                    self.otf_counters[name].labels(v.queue).inc()
            if v.agent is not None:
                self.otf_agent["acd_agent_otf_settled_total"].labels(v.agent).inc()
                if v.otf:
                    self.otf_agent["acd_agent_otf_met_total"].labels(v.agent).inc()
            if v.handled:
                kind = "none" if v.kind is None else v.kind
                if kind not in self._otf_kinds.get(v.queue, frozenset()):
                    kind = "other"
                self.otf_kind["acd_otf_kind_settled_total"].labels(v.queue, kind).inc()
                if v.otf:
                    self.otf_kind["acd_otf_kind_met_total"].labels(v.queue, kind).inc()

    def set_otf_pending(self, pending: Mapping[str, int]) -> None:
        """``acd_otf_pending{queue}``: the interactions whose verdict waits (every configured queue)."""
        for name in self._queues:
            self.otf_pending.labels(name).set(pending.get(name, 0))

    def forecast_gauges(self) -> tuple[Gauge, ...]:
        """The forecast and its inputs per queue: set only while the forecast has both rate and AHT."""
        return (
            self.agents_required,
            self.predicted_sl,
            self.agents_required_a,
            self.predicted_sl_a,
            self.forecast_rate,
            self.forecast_aht,
            self.forecast_patience,
        )

    def apply(self, update: MetricUpdate) -> None:
        labels = dict(update.labels)
        if update.kind == "inc" and update.name in self.counters:
            self.counters[update.name].labels(**labels).inc(update.value)
        elif update.kind == "inc" and update.name == CALLBACK_TRIES:
            self.callback_tries.labels(**labels).inc(update.value)
        elif update.kind == "inc" and update.name == SCHEDULED_CLOSED:
            self.scheduled_closed.labels(**labels).inc(update.value)
        elif update.kind == "inc" and update.name == CALLS_LOST:
            self.calls_lost.labels(**labels).inc(update.value)
        elif update.kind == "inc" and update.name == AGENT_STATE_SECONDS:
            self.per_agent.add_seconds(labels["agent"], labels["state"], update.value)
        elif update.kind == "observe" and update.name in self.histograms:
            self.histograms[update.name].labels(**labels).observe(update.value)
        else:
            raise ValueError(f"unknown metric update {update.kind} {update.name}")

    def set_agent_states(self, states: Mapping[str, str]) -> None:
        """``acd_agent_state{agent,state}`` from each configured agent's state (agent id -> state name)."""
        self.per_agent.set_states(states)

    def set_pbxs(self, names: Iterable[str]) -> None:
        """The AMI series of each PBX (``[[pbx]]`` names, or "pbx" alone), every one from the start, at 0."""
        for name in names:
            self.ami_events.labels(name)
            self.calls_lost.labels(name)
            for reason in AMI_REFUSED_REASONS:
                self.ami_refused.labels(name, reason)
            for reason in AMI_MALFORMED_REASONS:
                self.ami_malformed.labels(name, reason)
            for action in REDIRECT_ACTIONS:
                self.redirects_lost.labels(name, action)

    def export_ami_malformed(self, wire: int, translate: int, oversize: int = 0, pbx: str = "pbx") -> None:
        """Bring ``acd_ami_malformed{pbx,reason}`` up to the AMI adapter's own running totals for ``pbx``.

        The link (``LinkCounters.malformed``, across reconnects) and the translator
        (``TranslateCounters.malformed_on``, per PBX) count what they drop; this adds what is new since
        the last call. A total that went down comes from a new link or translator, counting from 0: all
        of it is new.
        """
        for reason, total in (("wire", wire), ("translate", translate), ("oversize", oversize)):
            seen = self._ami_malformed_exported.get((pbx, reason), 0)
            new = total - seen if total >= seen else total
            if new > 0:
                self.ami_malformed.labels(pbx, reason).inc(new)
            self._ami_malformed_exported[(pbx, reason)] = total
