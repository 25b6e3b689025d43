"""The soak's traffic: the demo's callers at 30 a minute, the phones' behaviour, and agents coming and going.

Callers come from ``phonefarm.demo.run_demo_traffic`` (the demo's mix of numbers, IVR choices
included), with patience short enough for the run to drain in a few minutes. Meanwhile a few agents
at a time pause, resume, log out and log in again, half of the time through the HTTP API and half
from their phones' feature codes (*50 log in, *51 log out, *52<n> pause, *53 resume:
docs/dialplan.md); the state each agent is left in is remembered for the checks.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from bench.soak.ledger import Ledger
from bench.soak.plan import (
    AGENTS,
    ANSWER_DELAY,
    CALLS_PER_MINUTE,
    CHURN_EVERY,
    MAX_AWAY,
    NO_ANSWER,
    PATIENCE,
    TALK,
    log,
)
from phonefarm import AmiError, Farm
from phonefarm.acd_process import AcdProcess
from phonefarm.demo import DEFAULT_MIX, run_demo_traffic

AWAY = ("paused", "logged_out")


@dataclass
class Churn:
    """Agents pausing and logging out: what was done, and the state each agent was left in."""

    acd: AcdProcess
    farm: Farm
    ledger: Ledger
    rng: random.Random
    left_in: dict[str, str] = field(default_factory=lambda: dict.fromkeys(AGENTS, "ready"))
    actions: dict[str, int] = field(default_factory=dict)

    async def _api(self, agent: str, verb: str, body: dict[str, str] | None = None) -> bool:
        code, answer = await asyncio.to_thread(self.acd.post, f"/api/v1/agents/{agent}/{verb}", body)
        if not 200 <= code < 300:
            log(f"churn: {verb} {agent} answered {code}: {answer}")
        return 200 <= code < 300

    async def _code(self, agent: str, code: str) -> bool:
        try:
            self.ledger.not_callers.add(await self.farm.agent_dial(agent, code))
        except AmiError as exc:
            log(f"churn: {agent} dialling {code}: {exc}")
            return False
        return True

    async def act(self) -> None:
        """One action on one agent, chosen by the agents' live states."""
        states = {a["id"]: a["state"] for a in (await asyncio.to_thread(self.acd.get, "/api/v1/agents"))["agents"]}
        away = [a for a in AGENTS if states.get(a) in AWAY]
        if len(away) >= MAX_AWAY or (away and self.rng.random() < 0.4):
            agent = self.rng.choice(away)
            back = "resume" if states[agent] == "paused" else "login"
            by_phone = self.rng.random() < 0.5
            ok = await (self._code(agent, "*53" if back == "resume" else "*50") if by_phone else self._api(agent, back))
            target = "ready"
        else:
            idle = [a for a in AGENTS if states.get(a) == "ready"]
            if not idle:
                return
            agent = self.rng.choice(idle)
            back = self.rng.choice(("pause", "logout"))
            by_phone = self.rng.random() < 0.5
            if back == "pause":
                ok = await (
                    self._code(agent, f"*52{self.rng.randint(1, 3)}")
                    if by_phone
                    else self._api(agent, "pause", {"reason": "soak"})
                )
                target = "paused"
            else:
                ok = await (self._code(agent, "*51") if by_phone else self._api(agent, "logout"))
                target = "logged_out"
        if ok:
            self.left_in[agent] = target
            key = f"{back} ({'phone' if by_phone else 'API'})"
            self.actions[key] = self.actions.get(key, 0) + 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*CHURN_EVERY))
            except TimeoutError:
                await self.act()


async def set_phones(farm: Farm, rng: random.Random) -> None:
    """Every phone answers after 1-3 s and talks 15-60 s, but two let it ring (misses)."""
    for agent in AGENTS:
        if agent in NO_ANSWER:
            await farm.set_agent(agent, "noanswer")
        else:
            await farm.set_agent(agent, "answer", delay=rng.randint(*ANSWER_DELAY), talk=rng.randint(*TALK))


async def vary_talk(farm: Farm, rng: random.Random, stop: asyncio.Event) -> None:
    """Every 30 s one phone's talk time changes: the load moves between queues a little."""
    answering = [a for a in AGENTS if a not in NO_ANSWER]
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 30.0)
        except TimeoutError:
            await farm.set_agent(
                rng.choice(answering), "answer", delay=rng.randint(*ANSWER_DELAY), talk=rng.randint(*TALK)
            )


async def callers(farm: Farm, stop: asyncio.Event, seed: int) -> int:
    """The demo's callers (phonefarm/demo.py) at CALLS_PER_MINUTE until ``stop``; how many were placed."""
    return await run_demo_traffic(farm, stop, CALLS_PER_MINUTE, mix=DEFAULT_MIX, patience=PATIENCE, seed=seed)
