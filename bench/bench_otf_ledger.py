"""The live OTF ledger at a day's size: memory per held interaction, the cost of an arrival and of a tick.

A handled call's verdict stays pending for its repeat window (up to a day), so at 30 calls/min the ledger
holds tens of thousands of them, and the runtime feeds it the clock every second. Run
``python -m bench.bench_otf_ledger`` from the repo root. For 1k, 10k and 50k held handled calls it prints,
for the ledger before (``bench.otf_ledger_before.ScanLedger``: whole records, every arrival and every tick
reads them all) and the ledger now (``acd.core.otf.OtfLedger``): the memory allocated per held
interaction (tracemalloc), the mean cost of one arrival, and the mean cost of one tick with nothing due
(``settle`` then ``pending``, as the runtime's every second), with now / before ratios. Then a day at
30 calls/min on a queue without a repeat window (every call settled at once, one in five unanswered):
the settled ids each ledger still keeps at its end, and their memory. It asserts nothing.
"""

from __future__ import annotations

import dataclasses
import gc
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable
from typing import Protocol

from acd.core.config import OtfCriteria, QueueConfig, SkillRequirement
from acd.core.otf import OtfLedger, Verdict
from acd.core.record_types import InteractionRecord
from bench.otf_ledger_before import ScanLedger

QUEUES = {
    name: QueueConfig(name, (SkillRequirement("s"),), otf=OtfCriteria(repeat_window_seconds=window))
    for name, window in (("billing", 86400.0), ("support", 86400.0), ("none", 0.0))
}
DAY_CALLS = 30 * 60 * 24
SIZES = (1_000, 10_000, 50_000)
ARRIVALS = 200
TICKS = 20


class Ledger(Protocol):
    def observe(self, record: InteractionRecord, now: float) -> list[Verdict]: ...
    def seed(self, records: Iterable[InteractionRecord], now: float) -> int: ...
    def settle(self, now: float, only: str | None = None) -> list[Verdict]: ...
    def pending(self) -> dict[str, int]: ...


def handled(i: int, at: float) -> InteractionRecord:
    """A handled call as the core writes it: uuid ids, a uniqueid, a note."""
    return InteractionRecord(
        interaction_id=str(uuid.uuid4()),
        seq=7,
        queue=("billing", "support")[i % 2],
        priority=5,
        caller=f"+3361{i:07d}",
        arrived_at=at,
        uniqueid=f"{1765000000 + i}.{i % 997}",
        linkedid=f"{1765000000 + i}.{i % 991}",
        customer_id=f"cust-{i}" if i % 3 == 0 else None,
        answered_at=at + 12.5,
        ended_at=at + 212.5,
        outcome="answered",
        agent_id=f"a-{i % 20:02d}",
        wait_seconds=12.5,
        talk_seconds=200.0,
        wrapup_seconds=15.0,
        within_sla=True,
        end_reason="caller hung up",
        disposition="support/resolved",
        notes=f"note {i}",
        first_arrived_at=at,
    )


def fill(ledger: Ledger, size: int) -> None:
    """Hold ``size`` handled calls, their windows open: taken back as at a start (``seed``), which holds
    them as ``observe`` would, without the old ledger's scan per call (quadratic at these sizes)."""
    taken = ledger.seed((handled(i, 1000.0 + i) for i in range(size)), 1000.0 + size + 300.0)
    assert taken == size


def filled_bytes(make: Callable[[], Ledger], size: int) -> float:
    """Bytes per held call, records included: what the ledger alone keeps alive once the core forgot them."""
    gc.collect()
    tracemalloc.start()
    ledger = make()
    base = tracemalloc.get_traced_memory()[0]
    fill(ledger, size)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert ledger is not None
    return held / size


def arrival_us(ledger: Ledger, size: int) -> float:
    """The mean cost of one new call's first snapshot (a waiting caller: the repeat check and holding it)."""
    now = 1000.0 + size + 400.0
    arrivals = [
        InteractionRecord(str(uuid.uuid4()), 1, ("billing", "support")[i % 2], 5, f"+3361{i * 7:07d}", now)
        for i in range(ARRIVALS)
    ]
    start = time.perf_counter_ns()
    for r in arrivals:
        ledger.observe(r, now)
    return (time.perf_counter_ns() - start) / ARRIVALS / 1000


def tick_us(ledger: Ledger, size: int) -> float:
    """The mean cost of one tick with nothing due: ``settle`` and ``pending``, as ``Runtime.settle_otf``."""
    now = 1000.0 + size + 400.0
    start = time.perf_counter_ns()
    for i in range(TICKS):
        assert ledger.settle(now + i) == []
        ledger.pending()
    return (time.perf_counter_ns() - start) / TICKS / 1000


def settled_day(make: Callable[[], Ledger]) -> tuple[int, float]:
    """A day at 30 calls/min, each settled at its end (no repeat window), the clock fed every 10 min:
    the ids kept at the end of the day and the memory the ledger holds then (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    ledger = make()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(DAY_CALLS):
        at = 1000.0 + 2.0 * i
        record = dataclasses.replace(handled(i, at), queue="none")
        if i % 5 == 0:  # abandoned after 30 s
            record = dataclasses.replace(
                record, answered_at=None, ended_at=at + 30.0, outcome="abandoned", wait_seconds=30.0, agent_id=None
            )
            record = dataclasses.replace(record, talk_seconds=None, wrapup_seconds=None, disposition=None)
        ledger.observe(record, at + 230.0)
        if i % 300 == 0:
            ledger.settle(at + 230.0)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    kept = len(ledger._done)  # type: ignore[attr-defined]
    return kept, held


def main() -> None:
    print("== OTF ledger: memory per held handled call (tracemalloc, records included), one arrival's cost,")
    print("   one tick's cost with nothing due (settle + pending, every second in the runtime); ratios now / before")
    makers: dict[str, Callable[[], Ledger]] = {
        "before": lambda: ScanLedger(QUEUES, 5.0),
        "now": lambda: OtfLedger(QUEUES, 5.0),
    }
    for size in SIZES:
        memory = {name: filled_bytes(make, size) for name, make in makers.items()}
        cost, tick = {}, {}
        for name, make in makers.items():
            ledger = make()
            fill(ledger, size)
            tick[name] = tick_us(ledger, size)
            cost[name] = arrival_us(ledger, size)
        print(
            f"   {size:6d} held: memory before {memory['before']:4.0f} B, now {memory['now']:4.0f} B"
            f" (ratio {memory['now'] / memory['before']:4.2f});"
            f" arrival before {cost['before']:8.1f} us, now {cost['now']:5.1f} us"
            f" (ratio {cost['now'] / cost['before']:6.4f});"
            f" tick before {tick['before']:8.1f} us, now {tick['now']:5.1f} us"
            f" (ratio {tick['now'] / tick['before']:6.4f})"
        )

    kept = {name: settled_day(make) for name, make in makers.items()}
    print(
        f"   a day of {DAY_CALLS} calls settled at once: ids kept before {kept['before'][0]}"
        f" ({kept['before'][1] / 2**20:.1f} MiB), now {kept['now'][0]} ({kept['now'][1] / 2**20:.1f} MiB);"
        f" memory ratio {kept['now'][1] / kept['before'][1]:4.2f}"
    )


if __name__ == "__main__":
    main()
