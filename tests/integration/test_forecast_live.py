"""The staffing forecast on the live runtime, against Erlang C and Erlang A worked out here.

The ACD is built as the service builds it (``acd.bootstrap.build``: the real core, runtime, metrics
and forecaster); only Asterisk is a stand-in that carries out every action at once. Known traffic
runs on a clock the test moves: a call every 10 s for 15 minutes into a queue two agents serve
(every call they answer lasts 120 s), two callers in three hanging up after 30 s if not answered
by then. A backlog builds: few calls leave the queue while many arrive, so a rate of exits would ask
for too few agents. The test keeps its own books of arrivals, handle times and waits, and computes
the agents required with its own Erlang C (the textbook sums) and Erlang A (the birth-death chain
and the waiting caller's chain integrated step by step), not with ``acd.core.erlang``.
"""

from __future__ import annotations

import heapq
import math

import pytest
from doubles import NullSink, keep_rings
from wiring import running, settings_for

from acd.bootstrap import build
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp, OfferAnswered
from acd.ports import MockControl

T0 = 1_800_000_000.0
THRESHOLD, TARGET, TALK = 20.0, 0.8, 120.0
CONFIG = RoutingConfig(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 1),),
            sla_threshold_seconds=THRESHOLD,
            sla_target_ratio=TARGET,
            max_wait_seconds=3600.0,
        ),
    ),
    agents=(
        AgentConfig("a1", "PJSIP/agent1", (("billing", 5),)),
        AgentConfig("a2", "PJSIP/agent2", (("billing", 5),)),
    ),
)


def erlang_c_sl(load: float, agents: int, aht: float) -> float:
    """SL by the textbook Erlang C: P(wait) from the sums A^k/k!, then 1 - P(wait)·e^(-(N-A)T/AHT)."""
    if agents <= load:
        return 0.0
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    p_wait = top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)
    return 1.0 - p_wait * math.exp(-(agents - load) * THRESHOLD / aht)


def erlang_a_sl(rate: float, aht: float, patience: float, agents: int) -> float:
    """SL of M/M/N+M: stationary chain by its balance equations; a queued caller's answer within T by
    integrating its chain (k ahead: moves up at N/AHT + k/patience, gives up at 1/patience) with RK4."""
    mu, theta = 1.0 / aht, 1.0 / patience
    p = [1.0]
    while len(p) <= agents or p[-1] > 1e-15 * max(p):
        n = len(p)
        p.append(p[-1] * rate / (min(n, agents) * mu + max(n - agents, 0) * theta))
    total = sum(p)
    p = [x / total for x in p]
    queued = p[agents:]

    def slope(v: list[float]) -> tuple[list[float], float]:
        dv = [-(agents * mu + (j + 1) * theta) * v[j] for j in range(len(v))]
        for j in range(len(v) - 1):
            dv[j] += (agents * mu + (j + 1) * theta) * v[j + 1]
        return dv, agents * mu * v[0]

    v, served, steps = list(queued), 0.0, 1000
    h = THRESHOLD / steps
    for _ in range(steps):
        k1, s1 = slope(v)
        k2, s2 = slope([a + h / 2 * b for a, b in zip(v, k1, strict=True)])
        k3, s3 = slope([a + h / 2 * b for a, b in zip(v, k2, strict=True)])
        k4, s4 = slope([a + h * b for a, b in zip(v, k3, strict=True)])
        v = [a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(v, k1, k2, k3, k4, strict=True)]
        served += h / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
    return sum(p[:agents]) + served


def fewest(sl: object) -> int:
    agents = 1
    while sl(agents) < TARGET:  # type: ignore[operator]
        agents += 1
    return agents


async def test_agents_required_follows_arrivals_and_erlang_a_the_callers_patience() -> None:
    clock = [T0]
    rings: list[RingAgent] = []
    parts = await build(
        settings_for(CONFIG), control=MockControl(keep_rings(rings)), records=NullSink(), clock=lambda: clock[0]
    )
    arrivals, handles, waits, abandons = 0, [], [], 0
    arrived_at: dict[str, float] = {}
    answered: set[str] = set()
    agenda: list[tuple[float, int, str, str]] = []
    for i in range(90):  # a call every 10 s: 0.1 calls per second
        heapq.heappush(agenda, (T0 + 10.0 * i, 1, "arrive", f"c{i}"))
    async with running(parts):
        runtime = parts.runtime
        for agent in ("a1", "a2"):
            runtime.handle_now(AgentLoggedIn(agent))
        while agenda:
            at, _, what, call = heapq.heappop(agenda)
            clock[0] = at
            if what == "arrive":
                arrivals += 1
                arrived_at[call] = at
                runtime.handle_now(CallArrived(call, "billing", 5, channel=call, enqueued_at=at))
                if int(call[1:]) % 3 != 0:
                    heapq.heappush(agenda, (at + 30.0, 0, "hangup", call))
            elif what == "hangup" and call not in answered:
                runtime.handle_now(CallerHungUp(call))
                waits.append(30.0)
                abandons += 1
            elif what == "end":
                runtime.handle_now(CallEnded(call))
                handles.append(TALK)
            for ring in rings:  # every ring is answered at once; the call lasts TALK seconds
                runtime.handle_now(OfferAnswered(ring.offer_id))
                answered.add(ring.call_id)
                waits.append(clock[0] - arrived_at[ring.call_id])
                heapq.heappush(agenda, (clock[0] + TALK, 2, "end", ring.call_id))
            rings.clear()
            if clock[0] >= T0 + 895:
                break
        clock[0] = now = T0 + 900.0
        parts.forecaster.publish(parts.metrics, parts.core.snapshot(now), parts.core.config, now)
        parts.forecaster.settle()  # Erlang A is worked out by a worker thread: then published
        parts.forecaster.publish(parts.metrics, parts.core.snapshot(now), parts.core.config, now)

    def gauge(name: str) -> float:
        value = parts.metrics.registry.get_sample_value(name, {"queue": "billing"})
        assert value is not None, name
        return value

    rate, aht, patience = arrivals / 900.0, sum(handles) / len(handles), sum(waits) / abandons
    assert len(answered) < arrivals / 3  # a backlog: most callers are still waiting or gave up
    assert gauge("acd_forecast_arrival_rate") == pytest.approx(rate) == pytest.approx(0.1)
    assert gauge("acd_forecast_aht_seconds") == pytest.approx(aht) == pytest.approx(TALK)
    assert gauge("acd_forecast_patience_seconds") == pytest.approx(patience)
    erlang_c = fewest(lambda n: erlang_c_sl(rate * aht, n, aht))
    erlang_a = fewest(lambda n: erlang_a_sl(rate, aht, patience, n))
    assert gauge("acd_agents_required") == erlang_c
    assert gauge("acd_agents_required_erlang_a") == erlang_a
    assert erlang_a < erlang_c  # callers who give up need no agent
    assert gauge("acd_predicted_service_level_erlang_a") == pytest.approx(erlang_a_sl(rate, aht, patience, 2), abs=1e-4)
    assert gauge("acd_predicted_service_level") == pytest.approx(erlang_c_sl(rate * aht, 2, aht))
    print(f"\nrate {rate:.3f}/s, AHT {aht:.0f} s, patience {patience:.1f} s: Erlang C {erlang_c}, Erlang A {erlang_a}")
