"""The live OTF series and the OTF of the records agree on the same traffic (docs/kpis.md, "OTF and FCR").

The simulator drives the real core; every interaction record it emits goes, at the moment it is
emitted, through the runtime's ``OtfLedger`` into ``Metrics`` (what the ACD exports), and the clock
settles verdicts as it moves. At the end, the Prometheus counters per queue, agent and disposition kind
and the pending gauge equal what ``acd.core.otf`` computes from the latest records (the simulator's
report, and the reports' SQL in tests/integration), repeat callers and open windows included.
"""

from __future__ import annotations

import dataclasses

from acd.core.commands import Command, RecordCommand
from acd.core.config import OtfCriteria, QueueConfig, RoutingPolicy, SkillRequirement
from acd.core.events import Event
from acd.core.otf import OtfLedger, otf_rows, verdicts
from acd.core.record_types import InteractionRecord
from acd.metrics import Metrics
from acd.sim.engine import Simulation
from acd.sim.report import build_report
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic

MIX = (("inquiry/information", 3.0), ("complaint/billing", 1.0), ("order/new", 1.0), ("support/escalated", 0.5))
SCENARIO = Scenario(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 1),),
            sla_threshold_seconds=20.0,
            max_wait_seconds=120.0,
            wrapup_seconds=10.0,
            max_handle_seconds=200.0,
            otf=OtfCriteria(repeat_window_seconds=900.0, order_promise_seconds=240.0),
        ),
        QueueConfig(
            "support",
            (SkillRequirement("support", 1),),
            sla_threshold_seconds=30.0,
            max_wait_seconds=90.0,
            otf=OtfCriteria(repeat_window_seconds=1800.0, handle=False),
        ),
    ),
    traffic=(
        Traffic(
            "billing",
            2.0,
            talk=TalkTime("exponential", 150.0),
            patience_mean_seconds=120.0,
            dispositions=MIX,
            callers=60,
        ),
        Traffic(
            "support",
            1.5,
            talk=TalkTime("exponential", 200.0),
            patience_mean_seconds=150.0,
            dispositions=MIX,
            callers=40,
        ),
    ),
    agents=(AgentGroup("gen", 5, (("billing", 2), ("support", 2))),),
    policy=RoutingPolicy(),
    hours=2.0,
    seed=16,
    warmup_seconds=0.0,
)


def test_the_live_counters_give_the_otf_of_the_records() -> None:
    config = SCENARIO.routing_config()
    queues = {q.name: q for q in config.queues}
    ledger = OtfLedger(queues, config.policy.short_abandon_seconds)
    metrics = Metrics(config.queues, config.agents)

    clock = [0.0]

    def observe(now: float, event: Event, commands: list[Command]) -> None:
        clock[0] = now
        for command in commands:
            if isinstance(command, RecordCommand) and isinstance(command.record, InteractionRecord):
                metrics.count_otf(ledger.observe(command.record, now))
        metrics.count_otf(ledger.settle(now))

    sim = Simulation(SCENARIO, observer=observe)
    recorded = sim.run()
    end = max(SCENARIO.horizon_seconds, clock[0])  # the simulator lets the last calls end after the horizon
    metrics.count_otf(ledger.settle(end))
    metrics.set_otf_pending(ledger.pending())

    records = list(recorded.interactions.values())
    judged = verdicts(records, queues, short_abandon_seconds=config.policy.short_abandon_seconds, now=end)
    rows = otf_rows(judged)
    as_of_horizon = verdicts(
        records, queues, short_abandon_seconds=config.policy.short_abandon_seconds, now=SCENARIO.horizon_seconds
    )
    assert build_report(SCENARIO, recorded, sim.events_handled).otf == tuple(otf_rows(as_of_horizon))
    sample = metrics.registry.get_sample_value
    checked = 0
    for row in rows:
        c = row.counts
        if row.level == "queue":
            live = {
                name: sample(f"acd_{series}_total", {"queue": row.queue})
                for name, series in (
                    ("settled", "otf_settled"),
                    ("on_time", "otf_on_time"),
                    ("full", "otf_full"),
                    ("otf", "otf_met"),
                    ("handled", "fcr_handled"),
                )
            }
            live["pending"] = sample("acd_otf_pending", {"queue": row.queue})
            assert live == {
                "settled": c.settled,
                "on_time": c.on_time,
                "full": c.full,
                "otf": c.otf,
                "handled": c.handled,
                "pending": c.pending,
            }, row.queue
        elif row.level == "agent":
            assert sample("acd_agent_otf_settled_total", {"agent": row.agent or ""}) == c.settled, row.agent
            assert sample("acd_agent_otf_met_total", {"agent": row.agent or ""}) == c.otf, row.agent
        else:
            labels = {"queue": row.queue, "kind": row.kind or "none"}
            assert sample("acd_otf_kind_settled_total", labels) == c.settled, labels
            assert sample("acd_otf_kind_met_total", labels) == c.otf, labels
        checked += 1
    assert checked >= 2 + 5 + 8

    # the traffic reaches every branch: repeats, late and on-time, full and not, settled and pending
    queue_rows = [r.counts for r in rows if r.level == "queue"]
    assert all(0 < c.otf < c.on_time < c.settled and 0 < c.full < c.handled and c.pending > 0 for c in queue_rows)
    no_repeat = verdicts(
        records,
        {n: dataclasses.replace(q, otf=OtfCriteria(repeat_window_seconds=0.0)) for n, q in queues.items()},
        short_abandon_seconds=config.policy.short_abandon_seconds,
        now=end,
    )
    assert sum(v.full for v in no_repeat if v.settled) > sum(c.full for c in queue_rows)  # some callers called again
