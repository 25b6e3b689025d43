"""PostgreSQL stops during live traffic: routing never pauses, and afterwards every record is there once.

The real core runs in the real runtime, writing through a real outbox into the embedded PostgreSQL,
with callers looked up in the real customer directory. Only Asterisk is played, by ``Phones``: a
recording call control that answers every ring after a short delay and ends the call after a short
talk, submitting the events the AMI adapter would. Calls arrive at a steady pace; a few seconds in,
PostgreSQL is stopped for about three seconds and started again.

"Routing never paused" is measured where it matters: from ``submit(CallArrived)`` to the moment call
control is asked to ring an agent (there are always free agents, so every call rings on arrival).

kill -9 of the process between journal write and upsert is test_records_crash.py's subject.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from doubles import MockControl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from wiring import settings_for

from acd.bootstrap import build
from acd.core.commands import CancelOffer, ControlCommand, OverflowCall, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, DispositionSet, OfferAnswered
from acd.core.ids import interaction_id
from acd.core.record_types import AgentStateRecord, InteractionRecord, OfferRecord, Record, SegmentRecord
from acd.database import Database
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.sync_config import sync_config
from acd.records.stores.customers import CustomerDirectory, upsert_customer
from acd.runtime import Runtime

pytestmark = pytest.mark.pg

AGENTS = 40
CALLS_PER_SECOND = 40.0
TRAFFIC_SECONDS = 9.0
OUTAGE_AT, OUTAGE_SECONDS = 2.0, 3.0
ANSWER_DELAY = 0.02
TALK = (0.1, 0.4)  # seconds, uniform: about 10 agents busy at a time, 30 free

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=tuple(AgentConfig(f"a{i:02d}", f"PJSIP/agent{i:02d}", (("billing", 3),)) for i in range(AGENTS)),
)
KNOWN_CALLERS = [f"+1555010{i}" for i in range(10)]  # every fourth call comes from one of these


@dataclass
class Phones:
    """``MockControl``'s handler that plays Asterisk and the agents: answer after a delay, talk, hang up."""

    rung: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # call id -> perf_counter
    ended: int = 0
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    runtime: Runtime | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __call__(self, command: ControlCommand) -> None:
        if isinstance(command, CancelOffer | OverflowCall):
            raise AssertionError(f"nothing should be cancelled or overflow here ({command})")
        if isinstance(command, RingAgent):
            self.rung[command.call_id].append(time.perf_counter())
            loop = asyncio.get_running_loop()
            loop.call_later(ANSWER_DELAY, self._submit, OfferAnswered(command.offer_id))
            loop.call_later(ANSWER_DELAY + self.rng.uniform(*TALK), self._hang_up, command.call_id)

    def _submit(self, event: OfferAnswered | CallEnded | DispositionSet) -> None:
        assert self.runtime is not None
        assert self.runtime.submit(event)

    def _hang_up(self, call_id: str) -> None:
        self._submit(CallEnded(call_id))
        if self.ended % 3 == 0:  # the agent records a disposition on every third call
            self._submit(DispositionSet(call_id, "resolved", f"call {self.ended}"))
        self.ended += 1
        self.hung_up.set()


@dataclass
class Tee:
    """The runtime's record sink: remembers every record, then journals it in the real outbox."""

    outbox: Outbox
    records: list[Record] = field(default_factory=list)

    def append(self, record: Record) -> None:
        self.records.append(record)
        self.outbox.append(record)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def latest_seq(records: list[Record]) -> dict[type[Record], dict[str, int]]:
    best: dict[type[Record], dict[str, int]] = defaultdict(dict)
    for r in records:
        key = (
            r.offer_id
            if isinstance(r, OfferRecord)
            else r.segment_id
            if isinstance(r, SegmentRecord)
            else r.interval_id
            if isinstance(r, AgentStateRecord)
            else r.interaction_id
        )
        held = best[type(r)]
        held[key] = max(held.get(key, -1), r.seq)
    return best


async def test_routing_goes_on_while_postgres_is_down_and_every_record_arrives_once(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    await sync_config(engine, CONFIG)
    for number in KNOWN_CALLERS:
        await upsert_customer(engine, number, f"customer {number}", "premium")
    outbox = Outbox(tmp_path / "journal", engine, retry_initial=0.05, retry_max=0.5, write_timeout=5)
    await outbox.start()
    database = Database(pg.url)
    directory = CustomerDirectory(database.pool("customers"), timeout=0.2)
    phones = Phones()
    sink = Tee(outbox)
    runtime = (await build(settings_for(CONFIG), control=MockControl(phones), records=sink)).runtime
    phones.runtime = runtime
    writer = asyncio.create_task(runtime.run())
    for agent in CONFIG.agents:
        runtime.submit(AgentLoggedIn(agent.id))

    submitted: dict[str, float] = {}  # call id -> perf_counter at submit
    lookups: list[float] = []
    outage: list[float] = []  # [stop asked, start done], perf_counter
    backlog_in_outage = 0

    async def arrive(n: int) -> None:
        caller = KNOWN_CALLERS[n // 4 % len(KNOWN_CALLERS)] if n % 4 == 0 else f"+1666{n:06d}"
        began = time.perf_counter()
        customer = await directory.lookup(caller)  # what the AMI adapter does before the core sees the call
        lookups.append(time.perf_counter() - began)
        call_id, channel = interaction_id(f"linked-{n}"), f"PJSIP/trunk-{n:05d}"
        submitted[call_id] = time.perf_counter()
        runtime.submit(
            CallArrived(
                call_id, "billing", 5, caller=caller, channel=channel, linkedid=f"linked-{n}", customer=customer
            )
        )

    async def traffic() -> None:
        start = time.perf_counter()
        arrivals = []
        for n in range(int(CALLS_PER_SECOND * TRAFFIC_SECONDS)):
            await asyncio.sleep(max(0.0, start + n / CALLS_PER_SECOND - time.perf_counter()))
            arrivals.append(asyncio.create_task(arrive(n)))
        await asyncio.gather(*arrivals)

    async def postgres_outage() -> None:
        nonlocal backlog_in_outage
        await asyncio.sleep(OUTAGE_AT)
        outage.append(time.perf_counter())
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(OUTAGE_SECONDS)
        backlog_in_outage = outbox.backlog
        await asyncio.to_thread(pg.start)
        outage.append(time.perf_counter())

    try:
        await asyncio.gather(traffic(), postgres_outage())
        calls = len(submitted)
        async with asyncio.timeout(10):
            while phones.ended < calls:
                phones.hung_up.clear()
                await phones.hung_up.wait()
        runtime.drain()
        await writer
        assert await outbox.flush(30), f"{outbox.backlog} records still waiting: {outbox.last_error}"
    finally:
        runtime.drain()
        await writer
        await outbox.stop()
        await directory.close()
        await database.close()

    # routing never paused: every call rang once, within milliseconds, outage or not
    assert runtime.refused == 0
    assert sorted(phones.rung) == sorted(submitted) and all(len(t) == 1 for t in phones.rung.values())
    latency = {call: phones.rung[call][0] - at for call, at in submitted.items()}
    during = [lat for call, lat in latency.items() if outage[0] <= submitted[call] <= outage[1]]
    assert len(during) > CALLS_PER_SECOND * OUTAGE_SECONDS * 0.9
    assert p99(during) < 0.050, f"p99 ring latency {p99(during) * 1000:.1f} ms while Postgres was down"
    assert p99(list(latency.values())) < 0.050
    assert max(lookups) < 0.5, f"a customer lookup took {max(lookups):.3f}s"
    assert directory.failures > 0  # the directory did see the outage, and answered None through it
    assert backlog_in_outage > 0 and outbox.last_error is None  # records waited, then all went through

    # every record arrived exactly once: one row per id emitted, holding the latest snapshot
    assert (outbox.backlog, outbox.quarantined) == (0, 0)
    emitted = latest_seq(sink.records)
    async with engine.connect() as conn:
        stored: dict[type[Record], dict[str, int]] = {
            kind: dict((await conn.execute(text(f"SELECT id::text, seq FROM {table}"))).all())
            for kind, table in (
                (InteractionRecord, "interactions"),
                (OfferRecord, "offers"),
                (AgentStateRecord, "agent_states"),
            )
        }
        known = (await conn.execute(text("SELECT count(*) FROM interactions WHERE customer_id IS NOT NULL"))).scalar()
        disposed = (
            await conn.execute(text("SELECT count(*) FROM interactions WHERE disposition = 'resolved'"))
        ).scalar()
    assert len(emitted[InteractionRecord]) == calls
    assert len(emitted[OfferRecord]) == calls
    for kind in (InteractionRecord, OfferRecord, AgentStateRecord):
        assert stored[kind] == emitted[kind], kind.__name__
    assert known == math.ceil(calls / 4)  # known callers were cached before the outage: found through it
    assert disposed == math.ceil(calls / 3)

    print(
        f"\n{calls} calls, {len(sink.records)} records; outage {outage[1] - outage[0]:.2f}s with "
        f"{len(during)} calls and a backlog of {backlog_in_outage}; ring latency p99 "
        f"{p99(during) * 1000:.2f} ms in the outage, {p99(list(latency.values())) * 1000:.2f} ms overall, "
        f"max {max(latency.values()) * 1000:.2f} ms; slowest lookup {max(lookups) * 1000:.1f} ms, "
        f"{directory.failures} failed"
    )
