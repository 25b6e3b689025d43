"""Driving the farm's callers and agents' phones for the two loads: (a) an agent idle, (b) callers waiting."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

from bench.vs_app_queue.phases import Phase
from bench.vs_app_queue.plan import AGENTS, IDLE_IN_SYSTEM, WAITING
from bench.vs_app_queue.recorder import Recorder
from bench.vs_app_queue.samples import idle_samples
from phonefarm import Farm


class Load:
    def __init__(self, farm: Farm, rec: Recorder) -> None:
        self.farm = farm
        self.rec = rec
        self.seq = 0

    async def place(self, phase: Phase) -> str:
        self.seq += 1
        number = f"{phase.prefix}{self.seq:06d}"
        call_id = await self.farm.place_call(phase.did, patience_seconds=300, caller_id=number)
        phase.numbers.append(number)
        phase.call_ids[call_id] = number
        return number

    def done(self, phase: Phase, number: str) -> bool:
        failed = {phase.call_ids[c] for c in self.rec.failed_originates if c in phase.call_ids}
        return number in self.rec.caller_gone or number in failed

    async def settle(self, deadline: float) -> None:
        self.rec.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.rec.changed.wait(), max(0.01, min(0.5, deadline - time.monotonic())))

    async def set_agents(self, delay: float, talk: float) -> None:
        for agent in AGENTS:
            await self.farm.set_agent(agent, "answer", delay=delay, talk=talk)

    async def run_idle(self, phase: Phase, calls: int, warmup: int, deadline: float) -> None:
        """(a): at most IDLE_IN_SYSTEM callers at once, until ``calls`` samples qualify (an agent idle)."""
        await self.set_agents(delay=0.05, talk=0.2)
        live: list[str] = []
        target = calls + warmup + 5
        while time.monotonic() < deadline:
            live = [n for n in live if not self.done(phase, n)]
            if len(phase.numbers) < target and len(live) < IDLE_IN_SYSTEM:
                live.append(await self.place(phase))
                await asyncio.sleep(random.uniform(0.0, 0.05))  # no lock-step with the PBX's timers
            elif len(phase.numbers) >= target and not live:
                await asyncio.sleep(0.3)  # the listeners' last events
                found = len(idle_samples(self.rec, phase, warmup)[0])
                if found >= calls:
                    break
                target += calls - found + 5
            else:
                await self.settle(deadline)
        phase.stopped_at = time.time()

    async def run_waiting(self, phase: Phase, gaps: int, deadline: float) -> None:
        """(b): keep WAITING callers queued for the 4 agents until ``gaps`` agent turn-arounds were seen."""
        await self.set_agents(delay=0.2, talk=1.0)
        while time.monotonic() < deadline:
            mine = set(phase.numbers)
            invites = [leg for leg in self.rec.invites if leg.number in mine]
            if len(invites) - len({leg.agent for leg in invites}) >= gaps:
                break
            queued = [n for n in phase.numbers if n not in self.rec.first_invite and not self.done(phase, n)]
            for _ in range(WAITING - len(queued)):
                await self.place(phase)
            await self.settle(deadline)
        phase.stopped_at = time.time()
