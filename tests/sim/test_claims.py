"""Claims on the PBX in the simulator (docs/dialplan.md, "Claims"): the simulated dialplan claims each
queue's published offer as a caller of the default priority enters, and the core stands by it. A claim
rings the agent the normal path would have offered, so with claims on the same traffic gives the same
figures, with most callers served by a claim."""

from __future__ import annotations

import dataclasses

from sim_scenarios import mmn, run


def test_claims_serve_callers_with_the_figures_of_the_normal_path() -> None:
    off = mmn(calls_per_minute=2.0, aht=60.0, agents=3, calls=400)
    on = dataclasses.replace(off, policy=dataclasses.replace(off.policy, claim_on_pbx=True))
    report_off, sim_off = run(off)
    report_on, sim_on = run(on)
    assert sim_off.claimed == []
    assert len(sim_on.claimed) > 100  # most arrivals find an agent idle at this load
    assert report_on.queues == report_off.queues
    # each claim is the offer made: its record carries the published id, and no offer more was needed
    assert set(sim_on.claimed) <= set(sim_on.recorded.offers)
    assert len(sim_on.recorded.offers) == len(sim_off.recorded.offers)
    assert [o.result for o in sim_on.recorded.offers.values()] == [o.result for o in sim_off.recorded.offers.values()]
