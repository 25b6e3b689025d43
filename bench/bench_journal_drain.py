"""Benchmark the records' journal drain under load: how long a record waits in the local journal before
it is durably in PostgreSQL, and so which records a host that dies and never comes back loses.

    .venv/bin/python -m bench.bench_journal_drain [--seconds 60] [--pause 5]     (from the repo root)

Every process writes its records through its own journal (docs/records.md, "The outbox"); a record
is safe from the loss of its host only once the outbox has committed it to PostgreSQL. This runs the
service's own ``Outbox`` (its journal, its group commit, its store with the idempotent upserts, the
outbox's connection pool as ``acd.database`` declares it) against a real embedded PostgreSQL, fed the
records the real routing core emits for a simulated contact centre (``acd.sim``: every snapshot of
each call, ring attempt and agent state, at the moments the core emitted them, replayed in real time
from a steady state), for a bounded time each:

1. a realistic rate (30 calls/min), then a heavy one (600 calls/min);
2. a host that comes back: the heavy run's records (its warm-up's too), journaled while it could not
   reach PostgreSQL, drained by its next start (as an old leader's journal is when it returns);
3. the heavy rate again, with PostgreSQL frozen (SIGSTOP of all its processes) for ``--pause``
   seconds mid-run: the backlog it leaves and how long it takes to drain once PostgreSQL answers.

For each record: the latency from its append to the journal until the commit that carried it to
PostgreSQL (``bench.drain_clock``); printed p50, p99, max, and the records in flight (appended, not
yet in PostgreSQL) at each append, mean and max: a host that dies at a random moment and never
returns loses the records of the last p99-latency seconds, that many records. Always an embedded
PostgreSQL (DATABASE_URL is not used): the pause needs the server's processes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.commands import Command, RecordCommand
from acd.core.config import QueueConfig, RoutingPolicy, SkillRequirement
from acd.core.events import Event
from acd.core.ids import interaction_id
from acd.core.record_types import InteractionRecord, OfferRecord, Record
from acd.database import Database
from acd.records.errors import DatabaseUnavailable
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.store import PostgresRecordStore, Rejection
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.startup.sync_config import sync_config
from acd.sim.engine import Simulation
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic
from bench.drain_clock import PausedPostgres, TimedStore, drain_latencies, in_flight, in_flight_at_appends
from bench.percentiles import percentile

WARMUP = 300.0  # simulated seconds before the replayed window: calls talking, agents in wrap-up
TALK = 180.0  # mean talk, seconds (log-normal)


def scenario(calls_per_minute: float, seconds: float, seed: int) -> Scenario:
    """Two queues, one pool of agents about 90 % busy; callers abandon, agents miss or decline rings."""
    erlangs = calls_per_minute / 60.0 * TALK
    agents = int(erlangs * 1.1) + 3
    queues = tuple(
        QueueConfig(name, (SkillRequirement(name, 1),), max_wait_seconds=300.0, wrapup_seconds=10.0)
        for name in ("billing", "support")
    )
    traffic = tuple(
        Traffic(name, calls_per_minute * share, talk=TalkTime("lognormal", TALK, 0.6), patience_mean_seconds=120.0)
        for name, share in (("billing", 0.6), ("support", 0.4))
    )
    return Scenario(
        queues=queues,
        traffic=traffic,
        agents=(
            AgentGroup("gen", agents, (("billing", 2), ("support", 2)), miss_probability=0.05, reject_probability=0.02),
        ),
        policy=RoutingPolicy(),
        hours=(WARMUP + seconds) / 3600.0,
        seed=seed,
        warmup_seconds=WARMUP,
    )


def as_stored(record: Record) -> Record:
    """The simulator names its calls ``billing-0000001``; the runtime names them by a UUID."""
    if isinstance(record, InteractionRecord):
        return dataclasses.replace(record, interaction_id=interaction_id(record.interaction_id))
    if isinstance(record, OfferRecord):
        return dataclasses.replace(record, interaction_id=interaction_id(record.interaction_id))
    return record


@dataclass
class Feed:
    """What the core emitted in the window: (seconds into the window, record), in order."""

    scenario: Scenario
    seconds: float
    records: list[tuple[float, Record]] = dataclasses.field(default_factory=list)
    calls: set[str] = dataclasses.field(default_factory=set)  # every call with a snapshot in the window
    arrived: set[str] = dataclasses.field(default_factory=set)  # those that arrived in it
    before: list[Record] = dataclasses.field(default_factory=list)  # the warm-up's, written before the clock runs

    def __call__(self, now: float, event: Event, commands: list[Command]) -> None:
        for command in commands:
            if not isinstance(command, RecordCommand):
                continue
            record = as_stored(command.record)
            if now < WARMUP:
                self.before.append(record)
            elif now < WARMUP + self.seconds:
                self.records.append((now - WARMUP, record))
                if isinstance(record, InteractionRecord):
                    self.calls.add(record.interaction_id)
                    if record.arrived_at >= WARMUP:
                        self.arrived.add(record.interaction_id)


def simulate(calls_per_minute: float, seconds: float, seed: int) -> Feed:
    feed = Feed(scenario(calls_per_minute, seconds, seed), seconds)
    Simulation(feed.scenario, observer=feed).run()
    return feed


@dataclass
class Run:
    name: str
    feed: Feed
    appended_at: list[float]
    latencies: list[float]
    in_flight: list[int]  # at each append, itself included
    seconds: float
    paused: tuple[float, float] | None = None  # (freeze, thaw), perf_counter
    drained_after_thaw: float | None = None  # thaw -> the last record appended before it committed
    backlog_at_thaw: int | None = None


async def replay(
    name: str, feed: Feed, engine: AsyncEngine, journal: Path, pause: tuple[float, float, PausedPostgres] | None
) -> Run:
    """Append the feed's records at their moments through a fresh outbox; returns every record's latency."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE interactions, offers, agent_states CASCADE"))
    await sync_config(engine, feed.scenario.routing_config())
    warm = Outbox(journal / f"{name}-warmup", engine)  # the calls already open when the window starts
    await warm.start()
    for record in feed.before:
        warm.append(record)
    assert await warm.flush(120), "the warm-up's records did not drain"
    await warm.stop()

    store = TimedStore(PostgresRecordStore(engine))
    box = Outbox(journal / name, store)
    await box.start()
    box.epoch = 1  # as a leader's: its records carry its term, and the store reconciles them by it
    appended_at: list[float] = []
    freeze_at: float | None = None
    thaw_at: float | None = None
    pauser: PausedPostgres | None = None
    freeze_in = length = 0.0
    if pause is not None:
        freeze_in, length, pauser = pause
    began = time.perf_counter()
    try:
        for offset, record in feed.records:
            now = time.perf_counter()
            if pauser is not None and freeze_at is None and now - began >= freeze_in:
                await asyncio.to_thread(pauser.pause)
                freeze_at = time.perf_counter()
            if freeze_at is not None and thaw_at is None and now - freeze_at >= length:
                assert pauser is not None
                pauser.resume()
                thaw_at = time.perf_counter()
            delay = began + offset - now
            if delay > 0:
                await asyncio.sleep(delay)
            appended_at.append(time.perf_counter())
            box.append(record)
        if freeze_at is not None and thaw_at is None:
            assert pauser is not None
            pauser.resume()
            thaw_at = time.perf_counter()
        assert await box.flush(120), "the outbox did not drain"
    finally:
        if pauser is not None:
            pauser.resume()
        await box.stop()
    seconds = time.perf_counter() - began
    assert (box.backlog, box.quarantined) == (0, 0), (box.backlog, box.quarantined)
    assert store.written == len(feed.records), (store.written, len(feed.records))
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM interactions"))).scalar_one()
    known = {r.interaction_id for r in feed.before if isinstance(r, InteractionRecord)} | feed.calls
    assert stored == len(known), (stored, len(known))

    run = Run(
        name,
        feed,
        appended_at,
        drain_latencies(appended_at, store.commits),
        in_flight_at_appends(appended_at, store.commits),
        seconds,
    )
    if freeze_at is not None and thaw_at is not None:
        run.paused = (freeze_at, thaw_at)
        run.backlog_at_thaw = in_flight(thaw_at, appended_at, store.commits)
        last = max((k for k, at in enumerate(appended_at) if at <= thaw_at), default=None)
        if last is not None:
            run.drained_after_thaw = appended_at[last] + run.latencies[last] - thaw_at
    return run


class Unreachable:
    """A record store whose database never answers: the host was cut off from PostgreSQL."""

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        raise DatabaseUnavailable("cut off")


async def come_back(feed: Feed, engine: AsyncEngine, journal: Path) -> tuple[int, float]:
    """A host that journaled the feed (its warm-up and its window) without reaching PostgreSQL, then came
    back: how long its next start takes to drain that journal into empty tables (as an old leader's
    journal drains when it returns as a standby)."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE interactions, offers, agent_states CASCADE"))
    cut = Outbox(journal / "cut-off", Unreachable(), retry_initial=60.0)  # one failed try, no retry to log
    await cut.start()
    for record in [*feed.before, *(r for _, r in feed.records)]:
        cut.append(record)
    outbox_log = logging.getLogger("acd.records.pipeline.outbox")
    level = outbox_log.level
    outbox_log.setLevel(logging.ERROR)  # its "retry in ..." warning is the point here, not news
    try:
        await cut.stop(flush_timeout=0)  # as at a kill -9: the lines are in the journal, none in PostgreSQL
    finally:
        outbox_log.setLevel(level)
    back = Outbox(journal / "cut-off", engine)
    began = time.perf_counter()
    await back.start()
    waiting = back.backlog
    assert await back.flush(300), "the returning journal did not drain"
    drained = time.perf_counter() - began
    await back.stop()
    assert back.quarantined == 0, back.quarantined
    return waiting, drained


def report(run: Run) -> None:
    feed, lat = run.feed, run.latencies
    kinds = Counter(type(r).__name__.removesuffix("Record") for _, r in feed.records)
    rate = len(feed.records) / feed.seconds
    print(
        f"-- {run.name}: {len(feed.arrived)} calls arrived in {feed.seconds:.0f} s ({len(feed.calls)} with a "
        f"record in that time), {len(feed.records)} records "
        f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}), {rate:.1f} records/s"
    )
    print(
        f"   append -> in PostgreSQL: p50 {percentile(lat, 50) * 1000:.1f} ms, "
        f"p99 {percentile(lat, 99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms"
    )
    print(
        f"   records in flight (appended, not yet in PostgreSQL): mean {statistics.fmean(run.in_flight):.1f}, "
        f"p99 {percentile(run.in_flight, 99):.0f}, max {max(run.in_flight)}"
    )
    if run.paused is not None:
        freeze, thaw = run.paused
        print(
            f"   PostgreSQL frozen {thaw - freeze:.1f} s: backlog {run.backlog_at_thaw} records at the thaw, "
            f"drained {run.drained_after_thaw or 0.0:.2f} s after it"
        )
        print(
            f"   => a host lost for good during the stall loses everything it journaled since the freeze: "
            f"up to {max(run.in_flight)} records here"
        )
        return
    print(
        f"   => a host that dies and never returns loses the records of its last ~{percentile(lat, 99) * 1000:.0f} ms "
        f"(p99; at most {max(lat) * 1000:.0f} ms here): about {statistics.fmean(run.in_flight):.1f} records "
        f"at this rate, {max(run.in_flight)} at worst"
    )


async def main_async(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="acd-bench-drain-"))
    server = EmbeddedPostgres(workdir / "pg")
    database: Database | None = None
    try:
        url = await asyncio.to_thread(server.start)
        print(f"embedded PostgreSQL started in {server.last_start_seconds:.2f}s")
        database = Database(url)
        engine = database.pool("outbox")  # the service's own pool for the outbox
        await upgrade(engine)
        pauser = PausedPostgres(server.pgdata)
        plans: list[tuple[str, float, tuple[float, float, PausedPostgres] | None]] = [
            (f"{args.calls:g} calls/min", args.calls, None),
            (f"{args.heavy:g} calls/min", args.heavy, None),
        ]
        if args.pause > 0:
            at = max(0.0, (args.seconds - args.pause) / 2)
            plans.append(
                (f"{args.heavy:g} calls/min, PostgreSQL frozen {args.pause:g} s", args.heavy, (at, args.pause, pauser))
            )
        for i, (name, rate, pause) in enumerate(plans):
            began = time.perf_counter()
            feed = simulate(rate, args.seconds, args.seed + i)
            print(f"(simulated {name} in {time.perf_counter() - began:.1f} s; replaying {args.seconds:g} s)")
            run = await replay(f"run{i}", feed, engine, workdir / "journal", pause)
            run.name = name
            report(run)
            if i == 1:
                waiting, drained = await come_back(feed, engine, workdir / "journal")
                minutes = (WARMUP + args.seconds) / 60
                print(
                    f"-- a host that comes back with {minutes:g} min of {name} in its journal ({waiting} records) "
                    f"drains it in {drained:.2f} s on its start ({waiting / drained:,.0f} records/s)"
                )
    finally:
        if database is not None:
            await database.close()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(server.pgdata.resolve().parent, ignore_errors=True)  # as root, the server's own folder
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="each run's length (default 60)")
    parser.add_argument("--calls", type=float, default=30.0, help="the realistic rate, calls/min (default 30)")
    parser.add_argument("--heavy", type=float, default=600.0, help="the heavy rate, calls/min (default 600)")
    parser.add_argument("--pause", type=float, default=5.0, help="PostgreSQL frozen this long (0: no such run)")
    parser.add_argument("--seed", type=int, default=17)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
