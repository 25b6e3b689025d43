"""What the routing core and the runtime keep per call: simulated hours, and the bytes each structure grows by.

Run ``python -m bench.bench_core_memory`` from the repo root. The soak (``bench/soak``) checks the ACD's
RSS on the real PBX; this finds, without a PBX, which structure grows with every call. It plays the
contact-center scenario scaled to 30 calls/min through the real core and the service's runtime
(records, metrics, the OTF ledger, logs) in fast time, measures each structure (its own objects, not
the shared config) every simulated hour, and prints the bytes per call each one grew by after the
first hour, the projected growth per hour, and what ``tracemalloc`` saw grow in ``acd/``. The
record sink drops records (the outbox has its own bench). Prints figures and asserts nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import sys
import tracemalloc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from acd.core.acd import Acd
from acd.core.commands import ControlCommand, PublishNext, StartTimer, WithdrawNext
from acd.core.config import QueueConfig, RoutingConfig
from acd.core.events import Event
from acd.core.floor import Floor
from acd.core.record_types import Record
from acd.metrics import Metrics
from acd.runtime import Runtime
from acd.sim.engine import Simulation
from acd.sim.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).parent / "scenarios" / "contact_center.toml"
CALLS_PER_MINUTE = 30.0
HOURS = 8  # past the point where 10,000 kept calls fill up at 30 calls/min (5.6 h)
STRUCTURES = ("closed", "closed_offers", "calls", "offers", "agents", "decisions", "service_level", "handle_times")
# the runtime's own (the core's records and metrics pass through it): ``runtime.<name>``
RUNTIME = ("_arrived", "_answered", "_timers", "otf", "stimuli", "today", "_metrics", "_quiet")


class _Done:
    """Call control that the PBX carried out at once (the simulator plays the PBX's answers)."""

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> asyncio.Future[None]:
        done: asyncio.Future[None] = _LOOP.create_future()
        done.set_result(None)
        return done

    def publish(self, command: PublishNext | WithdrawNext) -> asyncio.Future[None]:
        done: asyncio.Future[None] = _LOOP.create_future()
        done.set_result(None)
        return done


class _Dropped:
    """The record sink: the outbox is measured by its own bench (bench_outbox)."""

    def append(self, record: Record) -> None:
        pass


_LOOP = asyncio.new_event_loop()


def _scaled(scenario: Scenario) -> Scenario:
    """The scenario at 30 calls/min in total, with agents scaled alike so queues stay as loaded."""
    total = sum(t.calls_per_minute for t in scenario.traffic)
    factor = CALLS_PER_MINUTE / total
    traffic = tuple(dataclasses.replace(t, calls_per_minute=t.calls_per_minute * factor) for t in scenario.traffic)
    agents = tuple(dataclasses.replace(g, count=max(1, round(g.count * factor))) for g in scenario.agents)
    return dataclasses.replace(scenario, traffic=traffic, agents=agents, hours=float(HOURS))


def _shared(acd: Acd) -> set[int]:
    """Objects every call points at but none owns: the config, its queues, interned strings and types."""
    config: RoutingConfig = acd.config
    seen: set[int] = set()
    todo: list[Any] = [config]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, type):
            continue
        seen.add(id(o))
        todo.extend(gc.get_referents(o))
    return seen


def deep_size(root: object, shared: set[int]) -> int:
    """Bytes of ``root`` and everything it reaches, leaving out ``shared`` objects and types."""
    seen: set[int] = set()
    total = 0
    todo: list[Any] = [root]
    while todo:
        o = todo.pop()
        if id(o) in seen or id(o) in shared or isinstance(o, type | QueueConfig):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        todo.extend(gc.get_referents(o))
    return total


def _measure(floor: Floor, runtime: Runtime, shared: set[int]) -> dict[str, int]:
    sizes = {name: deep_size(getattr(floor, name), shared) for name in STRUCTURES}
    sizes |= {f"runtime.{name}": deep_size(getattr(runtime, name), shared) for name in RUNTIME}
    return sizes


def _through_runtime(sim: Simulation) -> Runtime:
    """The simulator's events go through the service's runtime (records, metrics, OTF ledger, logs),
    on the simulator's clock; the simulator keeps firing the timers, the runtime arms none."""
    runtime = Runtime(sim.acd, _Done(), _Dropped(), Metrics(sim.acd.config.queues), clock=lambda: sim.now)
    jobs = runtime._jobs

    def deliver(event: Event) -> None:
        sim.events_handled += 1
        commands = runtime.handle_now(event)
        while not jobs.empty():  # the control worker's queue: the replies are in already
            jobs.get_nowait()
        for command in commands:
            sim._carry_out(command)

    def no_timer(command: StartTimer) -> None:
        pass

    sim._deliver = deliver  # type: ignore[method-assign]
    runtime._start_timer = no_timer  # type: ignore[method-assign]
    return runtime


def _core_bytes(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    core = snapshot.filter_traces([tracemalloc.Filter(True, "*/acd/*"), tracemalloc.Filter(False, "*/acd/sim/*")])
    return {str(s.traceback): s.size for s in core.statistics("lineno")}


def _print_table(rows: Iterable[tuple[str, float]]) -> None:
    for name, value in rows:
        print(f"  {name:<60} {value:>10.0f}")


def main() -> None:
    scenario = _scaled(load_scenario(SCENARIO))
    sim = Simulation(scenario, progress=lambda done, horizon: progress(done, horizon))
    runtime = _through_runtime(sim)
    floor = sim.acd._floor
    shared = _shared(sim.acd)
    samples: list[tuple[float, int, dict[str, int], dict[str, int]]] = []
    next_hour = 3600.0

    def progress(done: float, horizon: float) -> None:
        nonlocal next_hour
        if done + 1e-6 < next_hour:
            return
        next_hour += 3600.0
        gc.collect()
        calls = len(sim.recorded.interactions)
        samples.append((done, calls, _measure(floor, runtime, shared), _core_bytes(tracemalloc.take_snapshot())))

    tracemalloc.start()
    sim.run()
    tracemalloc.stop()

    names = [*STRUCTURES, *(f"runtime.{n}" for n in RUNTIME)]
    print(f"{CALLS_PER_MINUTE:.0f} calls/min, {sum(g.count for g in scenario.agents)} agents, {HOURS} h simulated")
    print("KiB kept per structure at each simulated hour:")
    print(f"  {'hour':<24}" + "".join(f"{done / 3600:>8.1f}" for done, *_ in samples))
    print(f"  {'calls so far':<24}" + "".join(f"{calls:>8d}" for _, calls, *_ in samples))
    for name in names:
        print(f"  {name:<24}" + "".join(f"{sizes[name] / 1024:>8.0f}" for _, _, sizes, _ in samples))
    if len(samples) < 3:
        return
    # growth per call from the end of the first hour (warm) to the last sample before 10,000 calls
    # (the count bound of the kept closed calls and offers)
    first = samples[0]
    last = [s for s in samples if s[1] < 10_000][-1]
    calls = last[1] - first[1]
    print(f"bytes per call, hour {first[0] / 3600:.1f} to hour {last[0] / 3600:.1f} ({calls} calls):")
    per_call = {n: (last[2][n] - first[2][n]) / calls for n in names}
    _print_table(per_call.items())
    total = sum(per_call.values())
    print(f"  {'all structures':<60} {total:>10.0f}")
    print(f"projected growth at {CALLS_PER_MINUTE:.0f} calls/min: {total * CALLS_PER_MINUTE * 60 / 2**20:.2f} MiB/h")
    print("tracemalloc, the acd/ lines that grew most over the same hours (bytes per call):")
    grown = {k: (last[3].get(k, 0) - first[3].get(k, 0)) / calls for k in last[3]}
    _print_table(sorted(grown.items(), key=lambda kv: -kv[1])[:10])
    later = samples[-1]
    calls = later[1] - last[1]
    if calls > 0:
        print(f"bytes per call after the count bound, hour {last[0] / 3600:.1f} to {later[0] / 3600:.1f}:")
        print(f"  {'all structures':<60} {sum(later[2][n] - last[2][n] for n in names) / calls:>10.0f}")


if __name__ == "__main__":
    main()
