"""One load step: callers at a rate (each to an idle agent) or callers held waiting; what became of them.

A step's callers carry numbers of their own (``prefix``), so the recorder's events (bench/vs_app_queue:
the PBXs' listeners and the farm) tell them apart from every other step's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.capacity.cpu import cpu_seconds, spent
from bench.capacity.plan import (
    FAILED_SHARE,
    GRACE,
    HOLD_RATE,
    HOLD_SECONDS,
    PATIENCE,
    RING_P95_MS,
    SETUP_P95_MS,
    System,
)
from bench.percentiles import percentile
from bench.vs_app_queue.isolation import Paths, pbx_sh
from bench.vs_app_queue.recorder import Recorder
from phonefarm import AmiClient, AmiError, Farm

ACTIVE_CHANNELS = re.compile(r"^([0-9]+) active channels?$", re.MULTILINE)


@dataclass
class Step:
    system: System
    kind: str  # "rate" (calls/s) | "hold" (callers held at once)
    load: float
    prefix: str
    placed: dict[str, float] = field(default_factory=dict)  # number -> wall clock when placed
    seconds: float = 0.0  # wall time of the step, its quiesce included
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by part over the step
    idle: dict[str, float] = field(default_factory=dict)  # CPU seconds per second by part with no call up
    ring_ms: list[float] = field(default_factory=list)  # rate: queue entry -> INVITE at the phone
    setup_ms: list[float] = field(default_factory=list)  # hold: placed -> in the queue
    failed: int = 0  # rate: never rang a phone; hold: never in the queue, or gone before the end
    on_pbx: dict[str, int] = field(default_factory=dict)  # callers in the queue, by the PBX they entered
    failure: str = ""  # why the step fails the criterion ("" passes)

    @property
    def calls(self) -> int:
        return len(self.placed)

    def per_caller_ms(self, part: str) -> float:
        """CPU ms per caller of a part over the step, its idle CPU over the step's time taken out first."""
        busy = self.cpu.get(part, 0.0) - self.idle.get(part, 0.0) * self.seconds
        return 1000.0 * max(0.0, busy) / max(1, self.calls)

    @property
    def label(self) -> str:
        return f"{self.load:g} calls/s" if self.kind == "rate" else f"{self.load:g} held"


async def quiesce(paths: Paths, farm: Farm, instances: tuple[str, ...], within: float = 30.0) -> None:
    """Hang up whatever is left on the farm; wait until no Asterisk has a channel."""
    with contextlib.suppress(AmiError):
        await farm.hangup_all()
    deadline = time.monotonic() + within
    counts: dict[str, str] = {}
    while time.monotonic() < deadline:
        for inst in instances:
            shown = await asyncio.to_thread(pbx_sh, paths, "rx", inst, "core show channels count")
            found = ACTIVE_CHANNELS.search(shown)
            counts[inst] = found.group(1) if found else repr(shown)
        if all(c == "0" for c in counts.values()):
            await asyncio.sleep(0.5)  # device states and the ACD catch up
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"channels still up after {within:.0f} s: {counts}")


class Driver:
    def __init__(
        self,
        paths: Paths,
        farm: Farm,
        rec: Recorder,
        instances: tuple[str, ...],
        where: dict[str, str],
        listeners: list[AmiClient],
    ) -> None:
        self.listeners = listeners  # the PBXs' events for the recorder: a step without all of them is void
        self.where = where  # caller number -> the PBX whose queue it entered
        self.paths = paths
        self.farm = farm
        self.rec = rec
        self.instances = instances
        self.seq = 0

    async def _place(self, step: Step, did: str, patience: float) -> None:
        self.seq += 1
        number = f"{step.prefix}{self.seq:06d}"
        step.placed[number] = time.time()
        await self.farm.place_call(did, patience_seconds=patience, caller_id=number)

    async def _pace(self, step: Step, did: str, rate: float, count: int, patience: float) -> None:
        """Place ``count`` callers at ``rate`` per second, on a fixed schedule (a late one does not shift the rest)."""
        began = time.monotonic()
        for i in range(count):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._place(step, did, patience)

    async def idle(self, seconds: float = 3.0) -> dict[str, float]:
        """CPU seconds per second of each part with no call up: what a step's figures are net of."""
        before, began = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        used = spent(before, cpu_seconds())
        return {part: value / (time.monotonic() - began) for part, value in used.items()}

    async def run(self, step: Step, seconds: float) -> Step:
        before, began = cpu_seconds(), time.monotonic()
        if step.kind == "rate":
            await self._rate(step, seconds)
        else:
            await self._hold(step)
        await quiesce(self.paths, self.farm, self.instances)
        step.cpu = spent(before, cpu_seconds())
        if dropped := [listener.name for listener in self.listeners if listener.lost is not None]:
            step.failure = f"the benchmark's listener was dropped by {', '.join(dropped)} (it fell behind): void"
        for number in step.placed:
            if number in self.where:
                step.on_pbx[self.where[number]] = step.on_pbx.get(self.where[number], 0) + 1
        step.seconds = time.monotonic() - began
        return step

    async def _until(self, done: Callable[[], bool], deadline: float) -> None:
        """Until ``done()`` holds or ``deadline``: checked at each farm event the recorder takes, and twice a second."""
        while not done() and time.monotonic() < deadline:
            self.rec.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.rec.changed.wait(), 0.5)

    async def _rate(self, step: Step, seconds: float) -> None:
        count = max(1, round(step.load * seconds))
        await self._pace(step, step.system.did, step.load, count, PATIENCE)
        deadline = time.monotonic() + GRACE
        await self._until(lambda: all(n in self.rec.caller_gone for n in step.placed), deadline)
        for number in step.placed:
            joined, leg = self.rec.join.get(number), self.rec.first_invite.get(number)
            if joined is None or leg is None:
                step.failed += 1
            else:
                step.ring_ms.append((leg.ts - joined) * 1000.0)
        p95 = percentile(step.ring_ms, 95) if step.ring_ms else float("inf")
        if step.failed > FAILED_SHARE * step.calls:
            step.failure = f"{step.failed} of {step.calls} callers never rang a phone"
        elif p95 > RING_P95_MS:
            step.failure = f"p95 ring {p95:.0f} ms > {RING_P95_MS:.0f} ms"

    async def _hold(self, step: Step) -> None:
        count = int(step.load)
        await self._pace(step, step.system.hold_did, HOLD_RATE, count, 600)
        deadline = time.monotonic() + GRACE
        await self._until(lambda: all(n in self.rec.join for n in step.placed), deadline)
        await asyncio.sleep(HOLD_SECONDS)
        held_until = time.time()
        for number, placed in step.placed.items():
            joined = self.rec.join.get(number)
            if joined is None or self.rec.caller_gone.get(number, float("inf")) < held_until:
                step.failed += 1
            else:
                step.setup_ms.append((joined - placed) * 1000.0)
        p95 = percentile(step.setup_ms, 95) if step.setup_ms else float("inf")
        if step.failed:
            step.failure = f"{step.failed} of {step.calls} callers not held to the end"
        elif p95 > SETUP_P95_MS:
            step.failure = f"p95 setup {p95:.0f} ms > {SETUP_P95_MS:.0f} ms"
