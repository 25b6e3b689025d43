"""The simulator against Erlang C in Erlang C's own world (M/M/N, no abandonment).

Each load runs ~25,000 calls after a one-hour warm-up, seed 1. Tolerances, from runs over seeds
1-8 at these sizes: P(wait) and service level land within ±0.03 of Erlang C, so we allow ±0.04.
ASA converges much more slowly (waits are heavy-tailed and strongly autocorrelated near full
load; seeds spread about ±30 %), so it gets a loose ±35 % check that still catches a gross error
such as counting ring time twice or never matching a waiting call.
"""

from __future__ import annotations

import pytest
from sim_scenarios import mmn, run

from acd.core.erlang import asa, p_wait, service_level

LOADS = [
    # calls/min, AHT s, agents  (A = offered load in erlangs)
    pytest.param(1.0, 180.0, 5, id="A=3,N=5"),
    pytest.param(2.0, 240.0, 10, id="A=8,N=10 (docs/kpis.md worked example)"),
    pytest.param(6.0, 120.0, 15, id="A=12,N=15"),
]


@pytest.mark.parametrize(("cpm", "aht", "agents"), LOADS)
def test_simulated_mmn_matches_erlang_c(cpm: float, aht: float, agents: int) -> None:
    scenario = mmn(cpm, aht, agents, calls=25_000)
    report, sim = run(scenario)
    k = report.queues["q"]
    rate = cpm / 60.0
    counted = [r for r in sim.recorded.interactions.values() if r.arrived_at >= scenario.warmup_seconds]
    assert k.offered == k.answered == len(counted) > 20_000
    waited = sum(1 for r in counted if r.wait_seconds is not None and r.wait_seconds > 0) / len(counted)
    assert waited == pytest.approx(p_wait(rate * aht, agents), abs=0.04)
    assert k.service_level == pytest.approx(service_level(rate, aht, agents, 20.0), abs=0.04)
    assert k.asa == pytest.approx(asa(rate, aht, agents), rel=0.35)
    assert k.aht == pytest.approx(aht, rel=0.03)
