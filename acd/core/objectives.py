"""Objectives (KPOs): a metric held against a target over a period, and how it stands.

An objective names a metric of the registry below, a comparison and a target, a scope (a queue, a
group of queues, an agent or a team) and a period (a day, a week, a month or dates). Its attainment is
the metric over the period so far, counted from the records by the reports' SQL; this module holds
what needs no I/O: the metrics an objective may name, the projection to the period's end and the
status (met, on track, at risk, missed). Definitions and rules: docs/kpis.md ("Objectives").

A new metric is one more ``Metric`` in ``METRICS`` and its tally in the attainment query. OTF and FCR
settle after their queue's repeat-contact window (docs/kpis.md, "OTF and FCR"): their attainment counts
the settled verdicts, their projection also the pending ones as known so far (``Settling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["ratio", "seconds", "count"]
ScopeKind = Literal["queue", "queues", "agent", "team"]
PeriodKind = Literal["day", "week", "month", "dates"]
Comparison = Literal[">=", ">", "<=", "<"]
Status = Literal["met", "on_track", "at_risk", "missed", "no_data"]

COMPARISONS: tuple[Comparison, ...] = (">=", ">", "<=", "<")
PERIODS: tuple[PeriodKind, ...] = ("day", "week", "month", "dates")
SCOPES: tuple[ScopeKind, ...] = ("queue", "queues", "agent", "team")
STATUSES: tuple[Status, ...] = ("met", "on_track", "at_risk", "missed", "no_data")
QUEUE_SCOPES: frozenset[ScopeKind] = frozenset({"queue", "queues"})
PEOPLE_SCOPES: frozenset[ScopeKind] = frozenset({"agent", "team"})

RATIO_MARGIN = 0.05  # at risk within 5 points of a ratio target (as the wallboard's SL colour)
RELATIVE_MARGIN = 0.10  # at risk within 10 % of a seconds or count target


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric an objective may name: its kind, the scopes it is defined for, whether Erlang C
    forecasts it (then the projection uses the forecast for the rest of the day)."""

    name: str
    kind: Kind
    scopes: frozenset[ScopeKind]
    forecast: bool = False
    title: str = ""
    settles: bool = False  # its verdicts settle after a repeat-contact window (OTF, FCR)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("service_level", "ratio", QUEUE_SCOPES, forecast=True, title="service level"),
        Metric("asa", "seconds", QUEUE_SCOPES, forecast=True, title="average speed of answer"),
        Metric("aht", "seconds", QUEUE_SCOPES | PEOPLE_SCOPES, title="average handle time"),
        Metric("abandonment", "ratio", QUEUE_SCOPES, title="abandonment rate"),
        Metric("occupancy", "ratio", PEOPLE_SCOPES, title="occupancy"),
        Metric("wait_breaches", "count", QUEUE_SCOPES, title="maximum-wait breaches"),
        Metric("handle_breaches", "count", QUEUE_SCOPES | PEOPLE_SCOPES, title="handle-time breaches"),
        Metric("otf", "ratio", QUEUE_SCOPES | PEOPLE_SCOPES, title="on-time and full", settles=True),
        Metric("fcr", "ratio", QUEUE_SCOPES | PEOPLE_SCOPES, title="first-contact resolution", settles=True),
    )
}


@dataclass(frozen=True, slots=True)
class Objective:
    name: str
    metric: str
    comparison: Comparison
    target: float
    scope: ScopeKind
    members: tuple[str, ...]  # the queue(s), the agent, or the team (one name)
    period: PeriodKind
    first: str = ""  # period "dates": the first and last day (ISO dates), both included
    last: str = ""
    owner: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Tally:
    """A metric's parts over the period so far: ``numerator / denominator`` for a ratio or a seconds
    metric (SL: answered within T over offered - short abandons; ASA: wait over answered...), the
    ``numerator`` alone for a count."""

    numerator: float
    denominator: float = 0.0

    def value(self, kind: Kind) -> float | None:
        if kind == "count":
            return self.numerator
        return self.numerator / self.denominator if self.denominator > 0 else None


@dataclass(frozen=True, slots=True)
class Settling:
    """OTF and FCR over an objective's scope (docs/kpis.md, "OTF and FCR"): the settled verdicts, and the
    handled interactions whose repeat-contact window is still open, judged as known so far (no repeat
    seen yet). Calls still open are in neither, as in reports."""

    settled: int  # OTF's denominator
    otf: int
    handled: int  # FCR's denominator
    full: int  # settled handled interactions closed complete
    pending: int = 0  # handled, window still open
    pending_otf: int = 0
    pending_full: int = 0


def settling_tallies(metric: str, counts: Settling) -> tuple[Tally, Tally]:
    """The attainment's tally (settled verdicts only, the records' figure) and the projection's (the
    pending verdicts added as known so far: a repeat contact may still turn one, never the other way)."""
    if metric == "otf":
        return (
            Tally(counts.otf, counts.settled),
            Tally(counts.otf + counts.pending_otf, counts.settled + counts.pending),
        )
    if metric == "fcr":
        return (
            Tally(counts.full, counts.handled),
            Tally(counts.full + counts.pending_full, counts.handled + counts.pending),
        )
    raise ValueError(f"{metric!r} does not settle")


def meets(comparison: Comparison, value: float, target: float) -> bool:
    if comparison == ">=":
        return value >= target
    if comparison == ">":
        return value > target
    if comparison == "<=":
        return value <= target
    return value < target


def project(
    kind: Kind,
    tally: Tally,
    elapsed: float,
    remaining: float,
    forecast: float | None = None,
    forecast_seconds: float = 0.0,
) -> float | None:
    """The metric at the period's end: today's pattern so far, and the forecast where there is one.

    The traffic of the rest of the period arrives at the rate seen so far (``denominator / elapsed``
    per second). A count grows at that rate. A ratio or an average keeps its value so far over that
    traffic, except over the next ``forecast_seconds`` (the rest of the day) when ``forecast`` (the
    Erlang C figure for the queue as staffed now) is given: that part of the traffic gets the forecast
    value. None when nothing has been counted yet.
    """
    value = tally.value(kind)
    if value is None:
        return None
    if elapsed <= 0 or remaining <= 0:
        return value
    if kind == "count":
        return tally.numerator * (elapsed + remaining) / elapsed
    rate = tally.denominator / elapsed
    if forecast is None:
        return value
    ahead = min(max(forecast_seconds, 0.0), remaining)
    near, far = rate * ahead, rate * (remaining - ahead)
    return (tally.numerator + near * forecast + far * value) / (tally.denominator + near + far)


def _margin(kind: Kind, target: float) -> float:
    return RATIO_MARGIN if kind == "ratio" else abs(target) * RELATIVE_MARGIN


def status(objective: Objective, attainment: float | None, projection: float | None, over: bool) -> Status:
    """Where the objective stands (docs/kpis.md, "Objectives"):

    - ``met`` / ``missed``: the period is over and the attainment meets / misses the target; or, for a
      count, the count so far already settles it (it only grows: a ceiling passed is missed, a floor
      reached is met).
    - ``at_risk``: the projection misses the target, or meets it by less than the margin (5 points for
      a ratio, 10 % of the target for seconds or a count).
    - ``on_track``: the projection meets the target by the margin or more.
    - ``no_data``: nothing counted in the period yet (no call, no agent time); for OTF and FCR, no
      verdict settled and none pending either (with pending ones only, the projection rates it).
    """
    metric = METRICS[objective.metric]
    if attainment is None:
        if over or projection is None or metric.kind == "count":
            return "no_data"
    elif over:
        return "met" if meets(objective.comparison, attainment, objective.target) else "missed"
    elif metric.kind == "count":
        hit = meets(objective.comparison, attainment, objective.target)
        ceiling = objective.comparison in ("<=", "<")
        if ceiling and not hit:
            return "missed"
        if not ceiling and hit:
            return "met"
    ahead = attainment if projection is None else projection
    if ahead is None:
        return "no_data"
    margin = _margin(metric.kind, objective.target)
    shifted = objective.target + margin if objective.comparison in (">=", ">") else objective.target - margin
    if not meets(objective.comparison, ahead, objective.target):
        return "at_risk"
    return "on_track" if meets(objective.comparison, ahead, shifted) else "at_risk"
