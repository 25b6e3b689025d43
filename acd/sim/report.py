"""The figures a simulation produces, computed with ``acd.core.kpis`` from the records the core
emitted, so the simulator, the SQL reports and the live metrics agree on every definition.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass

from acd.core.kpis import QueueKpis, occupancy, queue_kpis
from acd.core.otf import OtfRow, otf_rows, verdicts
from acd.core.record_types import AgentStateRecord, InteractionRecord
from acd.sim.engine import Recorded
from acd.sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class SimReport:
    seed: int
    hours: float
    queues: dict[str, QueueKpis]
    occupancy: dict[str, float | None]  # per agent, over [warm-up, horizon]
    offers: int
    offers_answered: int
    events_handled: int
    # OTF and FCR per queue, agent and disposition kind, as of the horizon (acd.core.otf)
    otf: tuple[OtfRow, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "hours": self.hours,
            "queues": {name: asdict(k) for name, k in self.queues.items()},
            "occupancy": self.occupancy,
            "offers": self.offers,
            "offers_answered": self.offers_answered,
            "events_handled": self.events_handled,
            "otf": [asdict(row) for row in self.otf],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)


def build_report(scenario: Scenario, recorded: Recorded, events_handled: int) -> SimReport:
    start, end = scenario.warmup_seconds, scenario.horizon_seconds
    by_queue: dict[str, list[InteractionRecord]] = defaultdict(list)
    for record in recorded.interactions.values():
        if record.arrived_at >= start:
            by_queue[record.queue].append(record)
    queues = {
        q.name: queue_kpis(
            by_queue[q.name],
            short_abandon_seconds=scenario.policy.short_abandon_seconds,
            max_handle_seconds=q.max_handle_seconds,
            max_wait_seconds=q.max_wait_seconds,
        )
        for q in scenario.queues
    }
    config = {q.name: q for q in scenario.queues}
    every = list(recorded.interactions.values())
    judged = verdicts(
        [r for r in every if r.arrived_at >= start],
        config,
        short_abandon_seconds=scenario.policy.short_abandon_seconds,
        now=end,
        context=every,
    )
    by_agent: dict[str, list[AgentStateRecord]] = defaultdict(list)
    for interval in recorded.intervals.values():
        by_agent[interval.agent_id].append(interval)
    agent_ids = sorted(a.id for a in scenario.routing_config().agents)
    return SimReport(
        seed=scenario.seed,
        hours=scenario.hours,
        queues=queues,
        occupancy={a: occupancy(by_agent[a], start, end) for a in agent_ids},
        offers=len(recorded.offers),
        offers_answered=sum(1 for o in recorded.offers.values() if o.result == "answered"),
        events_handled=events_handled,
        otf=tuple(otf_rows(judged)),
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _sec(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def format_table(report: SimReport) -> str:
    head = (
        "queue",
        "offered",
        "answered",
        "abandoned",
        "overflowed",
        "SL",
        "ASA s",
        "AHT s",
        "abandon",
        "max wait s",
        "callbacks",
        "cb reached",
        "cb failed",
        "OTF",
        "FCR",
    )
    rows = [head]
    otf = {row.queue: row.counts for row in report.otf if row.level == "queue"}
    for name, k in report.queues.items():
        o = otf.get(name)
        rows.append(
            (
                name,
                str(k.offered),
                str(k.answered),
                str(k.abandoned),
                str(k.overflowed),
                _pct(k.service_level),
                _sec(k.asa),
                _sec(k.aht),
                _pct(k.abandonment_rate),
                _sec(k.max_wait),
                str(k.callbacks),
                str(k.callbacks_completed),
                str(k.callbacks_failed),
                _pct(None if o is None else o.otf_ratio),
                _pct(None if o is None else o.fcr),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    known = [v for v in report.occupancy.values() if v is not None]
    mean_occ = sum(known) / len(known) if known else None
    lines.append("")
    lines.append(
        f"agents: {len(report.occupancy)}, mean occupancy {_pct(mean_occ)}; "
        f"offers {report.offers} ({report.offers_answered} answered); events {report.events_handled}"
    )
    return "\n".join(lines)
