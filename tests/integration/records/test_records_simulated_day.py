"""A simulated day through the outbox into PostgreSQL: every record lands once, and ``acd report``
gives the simulator's own figures.

The simulator (``acd.sim``) drives the real core on a virtual clock; its observer hands over every
``RecordCommand`` the core emitted, every snapshot, not only the latest. All of them go through a
real ``Outbox`` into the embedded PostgreSQL, in the order the core emitted them. Then:

- every simulated call is exactly one ``interactions`` row, every ring attempt one ``offers`` row,
  every agent state interval one ``agent_states`` row, each holding the core's latest snapshot;
- the report's SQL (``queue_report``/``agent_report``, and the CLI's JSON) equals the simulator's
  report (``acd.sim.report``): counts exactly, seconds and ratios to 1e-6 (absolute; relative 1e-9 for
  seconds). Float sums run in another order in SQL, and Postgres keeps timestamps to the microsecond,
  which moves occupancy by far less than 1e-6.

Ids: the runtime names a call ``acd.core.ids.interaction_id(linkedid)``, a UUID; the simulator names
its calls ``billing-0000001`` and its customers ``cust-billing-0000001``. The test maps them to UUIDs
the same way before the outbox; offer and interval ids are the core's UUIDs already.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.commands import Command, RecordCommand, RingAgent
from acd.core.config import OtfCriteria, QueueConfig, RoutingPolicy, SkillRequirement
from acd.core.events import CallArrived, Event
from acd.core.ids import interaction_id
from acd.core.kpis import QueueKpis
from acd.core.otf import OtfCount
from acd.core.record_types import AgentStateRecord, InteractionRecord, OfferRecord, Record
from acd.records import report
from acd.records.cli import report as report_cli
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.sync_config import sync_config
from acd.sim.engine import Simulation
from acd.sim.report import SimReport, build_report
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic

pytestmark = pytest.mark.pg

# Three hours after a 15-minute warm-up, loaded enough that callers abandon (some within the
# short-abandon cut-off), overflow, and miss or decline rings (one agent is auto-paused for it);
# billing's callers may take a callback, reached or not (docs/kpis.md, "Callbacks").
# agents close calls with codes of the default catalogue, and callers come from a pool of numbers, so
# some call again: OTF's every criterion is met and missed (docs/kpis.md, "OTF and FCR")
MIX = (("inquiry/status", 3.0), ("complaint/service", 1.0), ("order/change", 1.0), ("support/resolved", 1.0))
SCENARIO = Scenario(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 2),),
            sla_threshold_seconds=20.0,
            max_wait_seconds=120.0,
            overflow_target="voicemail",
            wrapup_seconds=15.0,
            max_handle_seconds=400.0,
            callback_after_seconds=60.0,
            callback_attempts=2,
            callback_gap_seconds=90.0,
            otf=OtfCriteria(repeat_window_seconds=1800.0, order_promise_seconds=400.0),
        ),
        QueueConfig(
            "support",
            (SkillRequirement("support", 1),),
            sla_threshold_seconds=30.0,
            max_wait_seconds=100.0,
            vip_priority_boost=3,
            otf=OtfCriteria(repeat_window_seconds=3600.0),
        ),
    ),
    traffic=(
        Traffic(
            "billing",
            2.5,
            talk=TalkTime("lognormal", 200.0, 0.6),
            patience_mean_seconds=150.0,
            callback_accept=0.4,
            callback_answer=0.7,
            dispositions=MIX,
            callers=150,
        ),
        Traffic(
            "support",
            2.0,
            talk=TalkTime("exponential", 150.0),
            patience_mean_seconds=200.0,
            vip_share=0.15,
            dispositions=MIX,
            callers=200,
        ),
    ),
    agents=(
        AgentGroup("gen", 10, (("billing", 3), ("support", 2)), miss_probability=0.05, reject_probability=0.03),
        AgentGroup("sup", 4, (("support", 4),), answer_delay_seconds=3.0),
    ),
    policy=RoutingPolicy(max_consecutive_misses=2),
    hours=3.0,
    seed=2026,
    warmup_seconds=900.0,
)
# the same queues' OTF criteria as a config file, for acd report --by otf
OTF_CONFIG = """
skills = ["billing", "support"]

[queues.billing]
skills = { billing = 2 }
max_handle = 400

[queues.billing.otf]
repeat_window = 1800
order_promise = 400

[queues.support]
skills = { support = 1 }

[queues.support.otf]
repeat_window = 3600
"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the simulator's clock starts at 0
START = EPOCH + timedelta(seconds=SCENARIO.warmup_seconds)
END = EPOCH + timedelta(seconds=SCENARIO.horizon_seconds)


def customer_uuid(sim_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:acd:test:customer/{sim_id}"))


def as_stored(record: Record) -> Record:
    """The record as the runtime would have it: UUIDs for the call and the customer."""
    if isinstance(record, InteractionRecord):
        return dataclasses.replace(
            record,
            interaction_id=interaction_id(record.interaction_id),
            customer_id=None if record.customer_id is None else customer_uuid(record.customer_id),
        )
    if isinstance(record, OfferRecord):
        return dataclasses.replace(record, interaction_id=interaction_id(record.interaction_id))
    return record


@dataclasses.dataclass
class Stream:
    """Everything the core said during the simulation, in order."""

    calls: list[CallArrived] = dataclasses.field(default_factory=list)
    rings: list[RingAgent] = dataclasses.field(default_factory=list)
    records: list[Record] = dataclasses.field(default_factory=list)

    def __call__(self, now: float, event: Event, commands: list[Command]) -> None:
        if isinstance(event, CallArrived):
            self.calls.append(event)
        for command in commands:
            if isinstance(command, RingAgent):
                self.rings.append(command)
            elif isinstance(command, RecordCommand):
                self.records.append(command.record)


def simulate() -> tuple[Stream, SimReport, dict[str, Record]]:
    stream = Stream()
    sim = Simulation(SCENARIO, observer=stream)
    recorded = sim.run()
    latest: dict[str, Record] = {
        **{interaction_id(k): as_stored(r) for k, r in recorded.interactions.items()},
        **recorded.offers,
        **recorded.intervals,
    }
    return stream, build_report(SCENARIO, recorded, sim.events_handled), latest


def close(got: float | None, want: float | None, *, seconds: bool = False) -> bool:
    if got is None or want is None:
        return got is want
    return got == pytest.approx(want, rel=1e-9 if seconds else 0, abs=1e-6)


def same_kpis(got: dict[str, Any], want: QueueKpis) -> list[str]:
    """The fields that differ, with both values (empty when the figures agree)."""
    differ = []
    for name, value in dataclasses.asdict(want).items():
        ok = (
            got[name] == value
            if isinstance(value, int)
            else close(got[name], value, seconds=name in {"asa", "aht", "max_wait"})
        )
        if not ok:
            differ.append(f"{name}: report {got[name]!r}, simulator {value!r}")
    return differ


def same_otf(got: OtfCount, want: OtfCount) -> list[str]:
    return [
        f"{name}: report {getattr(got, name)!r}, simulator {value!r}"
        for name, value in dataclasses.asdict(want).items()
        if not close(getattr(got, name), value)
    ]


async def test_a_simulated_day_lands_once_and_the_report_gives_the_simulators_figures(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    began = time.perf_counter()
    stream, expected, latest = simulate()
    sim_seconds = time.perf_counter() - began

    # the day is worth checking: it has every kind of call and offer the report tells apart
    billing, support = expected.queues["billing"], expected.queues["support"]
    assert billing.offered > 300 and support.offered > 300
    assert billing.overflowed > 0 and support.overflowed > 0
    assert billing.short_abandoned > 0 and support.abandoned > support.short_abandoned
    assert billing.handle_breaches > 0
    assert billing.wait_breaches >= billing.overflowed > 0  # every max-wait overflow is a wait breach
    assert billing.callbacks_completed > 0 and billing.callbacks_failed > 0 and support.callbacks == 0
    results = {r.result for r in latest.values() if isinstance(r, OfferRecord)}
    assert {"answered", "unanswered", "rejected", "cancelled"} <= results
    assert any(isinstance(r, AgentStateRecord) and r.state == "paused" for r in latest.values())
    customers = {r.customer_id for r in stream.records if isinstance(r, InteractionRecord) and r.customer_id}
    assert len(customers) > 20

    await sync_config(engine, SCENARIO.routing_config())
    async with engine.begin() as conn:  # the VIP callers are known customers (the FK wants them)
        await conn.execute(
            text("INSERT INTO customers (id, phone_number, name, tier) VALUES (CAST(:id AS uuid), :phone, '', 'vip')"),
            [{"id": customer_uuid(c), "phone": c} for c in sorted(customers)],
        )

    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    began = time.perf_counter()
    try:
        for record in stream.records:
            box.append(as_stored(record))
        assert await box.flush(60)
    finally:
        await box.stop()
    outbox_seconds = time.perf_counter() - began
    assert (box.backlog, box.quarantined) == (0, 0)

    # one row per call, per ring attempt, per state interval; each with the core's latest snapshot
    async with engine.connect() as conn:
        rows = {
            table: {str(r[0]): r[1:] for r in await conn.execute(text(sql))}
            for table, sql in (
                ("interactions", "SELECT id, seq, outcome, wait_seconds, disposition FROM interactions"),
                ("offers", "SELECT id, seq, result FROM offers"),
                ("agent_states", "SELECT id, seq, state, ended_at FROM agent_states"),
            )
        }
    call_ids = [interaction_id(c.call_id) for c in stream.calls]
    assert len(set(call_ids)) == len(call_ids) == len(rows["interactions"])
    assert set(rows["interactions"]) == set(call_ids)
    offer_ids = [r.offer_id for r in stream.rings]
    assert len(set(offer_ids)) == len(offer_ids) == len(rows["offers"])
    assert set(rows["offers"]) == set(offer_ids)
    intervals = {r.interval_id for r in stream.records if isinstance(r, AgentStateRecord)}
    assert set(rows["agent_states"]) == intervals
    for key, want in latest.items():
        if isinstance(want, InteractionRecord):
            assert rows["interactions"][key] == (want.seq, want.outcome, want.wait_seconds, want.disposition)
        elif isinstance(want, OfferRecord):
            assert rows["offers"][key] == (want.seq, want.result)
        elif isinstance(want, AgentStateRecord):
            seq, state, ended_at = rows["agent_states"][key]
            assert (seq, state, ended_at is None) == (want.seq, want.state, want.ended_at is None)

    # the report's SQL gives the simulator's figures
    short = SCENARIO.policy.short_abandon_seconds
    by_queue = await report.queue_report(engine, START, END, short_abandon_seconds=short)
    assert set(by_queue) == set(expected.queues)
    for queue, kpis in expected.queues.items():
        assert same_kpis(dataclasses.asdict(by_queue[queue]), kpis) == [], queue
    by_agent = {a.agent: a for a in await report.agent_report(engine, START, END)}
    assert set(by_agent) == set(expected.occupancy)
    for agent, occupancy in expected.occupancy.items():
        assert close(by_agent[agent].occupancy, occupancy), (agent, by_agent[agent].occupancy, occupancy)

    # ... OTF per queue, agent and disposition kind too, as of the simulation's end (open windows pending)
    otf = await report.otf_report(engine, START, END, SCENARIO.queues, as_of=END, short_abandon_seconds=short)
    assert [(r.level, r.queue, r.agent, r.kind) for r in otf] == [
        (r.level, r.queue, r.agent, r.kind) for r in expected.otf
    ]
    for row, want_row in zip(otf, expected.otf, strict=True):
        assert same_otf(row.counts, want_row.counts) == [], (row.level, row.queue, row.agent, row.kind)
    queue_otf = [r.counts for r in expected.otf if r.level == "queue"]
    assert all(0 < c.otf < c.on_time < c.settled and 0 < c.full < c.handled and c.pending > 0 for c in queue_otf)

    # ... and so does the command, in JSON
    url = engine.url.render_as_string(hide_password=False)

    def run(*extra: str) -> list[dict[str, Any]]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = report_cli.main(
                [
                    "--from",
                    START.isoformat(),
                    "--to",
                    END.isoformat(),
                    "--database-url",
                    url,
                    "--format",
                    "json",
                    "--short-abandon",
                    str(short),
                    *extra,
                ]
            )
        assert code == 0
        rows: list[dict[str, Any]] = json.loads(out.getvalue())
        return rows

    printed = {row["queue"]: row for row in await asyncio.to_thread(run)}
    assert set(printed) == set(expected.queues)
    for queue, kpis in expected.queues.items():
        assert same_kpis(printed[queue], kpis) == [], queue
    printed_agents = {row["agent"]: row for row in await asyncio.to_thread(run, "--by", "agent")}
    assert {a: close(printed_agents[a]["occupancy"], o) for a, o in expected.occupancy.items()} == {
        a: True for a in expected.occupancy
    }

    # ... and acd report --by otf, with the scenario's OTF criteria in a config file
    config = tmp_path / "acd.toml"
    config.write_text(OTF_CONFIG, encoding="utf-8")
    printed_otf = await asyncio.to_thread(run, "--by", "otf", "--config", str(config), "--as-of", END.isoformat())
    assert [(r["level"], r["queue"], r["agent"], r["kind"]) for r in printed_otf] == [
        (r.level, r.queue, r.agent, r.kind) for r in expected.otf
    ]
    for printed_row, want_row in zip(printed_otf, expected.otf, strict=True):
        assert (
            same_otf(OtfCount(**{k: printed_row[k] for k in dataclasses.asdict(want_row.counts)}), want_row.counts)
            == []
        )

    print(
        f"\nsimulated {SCENARIO.hours:.0f} h: {len(stream.calls)} calls, {len(stream.rings)} rings, "
        f"{len(stream.records)} records in {sim_seconds:.2f}s; outbox to Postgres in {outbox_seconds:.2f}s"
    )
