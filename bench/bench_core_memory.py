"""What the routing core keeps per call: a day of simulated traffic, and the bytes each structure grows by.

Run ``python -m bench.bench_core_memory`` from the repo root. The soak (``bench/soak``) checks the ACD's
RSS on the real PBX; this finds, without a PBX, which structure of the core grows with every call. It
plays the contact-center scenario scaled to 30 calls/min through the real core in fast time, measures
each structure of the floor (its own objects, not the shared config) every simulated hour, and prints
the bytes per call each one grew by after the first hour, plus what ``tracemalloc`` saw grow in
``acd/core``. Prints figures and asserts nothing.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acd.core.acd import Acd
from acd.core.config import QueueConfig, RoutingConfig
from acd.core.floor import Floor
from acd.sim.engine import Simulation
from acd.sim.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).parent / "scenarios" / "contact_center.toml"
CALLS_PER_MINUTE = 30.0
HOURS = 8  # past the point where 10,000 kept calls fill up at 30 calls/min (5.6 h)
STRUCTURES = ("closed", "closed_offers", "calls", "offers", "agents", "decisions", "service_level", "handle_times")


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


def _measure(floor: Floor, shared: set[int]) -> dict[str, int]:
    return {name: deep_size(getattr(floor, name), shared) for name in STRUCTURES}


def _core_bytes(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    core = snapshot.filter_traces([tracemalloc.Filter(True, "*/acd/core/*")])
    return {str(s.traceback): s.size for s in core.statistics("lineno")}


def _print_table(rows: Iterable[tuple[str, float]]) -> None:
    for name, value in rows:
        print(f"  {name:<60} {value:>10.0f}")


def main() -> None:
    scenario = _scaled(load_scenario(SCENARIO))
    sim = Simulation(scenario)
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
        samples.append((done, calls, _measure(floor, shared), _core_bytes(tracemalloc.take_snapshot())))

    tracemalloc.start()
    scenario_progress = progress
    sim._progress = scenario_progress
    sim.run()
    tracemalloc.stop()

    print(f"{CALLS_PER_MINUTE:.0f} calls/min, {sum(g.count for g in scenario.agents)} agents, {HOURS} h simulated")
    print("bytes kept per structure, each simulated hour (calls so far):")
    header = "  hour  calls " + " ".join(f"{n:>14}" for n in STRUCTURES)
    print(header)
    for done, calls, sizes, _ in samples:
        print(f"  {done / 3600:4.1f} {calls:6d} " + " ".join(f"{sizes[n]:>14,}" for n in STRUCTURES))
    if len(samples) < 3:
        return
    # growth per call between the end of hour 1 (warm) and hour 5 (before 10,000 calls fill the count bound)
    first = samples[0]
    last = next((s for s in samples if s[1] >= 9_000), samples[-1])
    last = samples[min(4, len(samples) - 1)] if last is samples[0] else last
    calls = last[1] - first[1]
    print(f"bytes per call, hour {first[0] / 3600:.0f} to hour {last[0] / 3600:.0f} ({calls} calls):")
    per_call = {n: (last[2][n] - first[2][n]) / calls for n in STRUCTURES}
    _print_table(per_call.items())
    total = sum(per_call.values())
    print(f"  {'all structures':<60} {total:>10.0f}")
    print(f"projected growth at {CALLS_PER_MINUTE:.0f} calls/min: {total * CALLS_PER_MINUTE * 60 / 2**20:.2f} MiB/h")
    print("tracemalloc, acd/core lines that grew most (bytes per call):")
    grown = {k: (last[3].get(k, 0) - first[3].get(k, 0)) / calls for k in last[3]}
    _print_table(sorted(grown.items(), key=lambda kv: -kv[1])[:8])
    print("kept at the end, per structure (bytes):")
    _print_table((n, samples[-1][2][n]) for n in STRUCTURES)


if __name__ == "__main__":
    main()
