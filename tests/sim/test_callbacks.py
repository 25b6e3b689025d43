"""Callbacks in the simulator: the same traffic with and without them (bench/scenarios/callbacks.toml
and no_callbacks.toml), played through the core's own callback handlers.

A caller still holding when the offer is read takes the callback with the scenario's probability and
hangs up keeping their place (``CallbackAccepted``); the core serves it in turn, ringing the agent
first (``RingAgent.callback``), and the simulated caller answers the dial or not (``CallbackEnded``).
Callers who took a callback never abandon, so each queue loses fewer callers; the figures of both
runs are printed (pytest -s) and the CLI's table shows the callbacks per queue.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from acd.core.commands import Command, RingAgent
from acd.core.events import CallbackAccepted, CallbackEnded, Event
from acd.core.kpis import QueueKpis, is_callback
from acd.sim.cli import main
from acd.sim.engine import Simulation
from acd.sim.report import SimReport, build_report, format_table
from acd.sim.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"
WITH = SCENARIOS / "callbacks.toml"
WITHOUT = SCENARIOS / "no_callbacks.toml"
QUEUE_CALLBACK_KEYS = {"callback_after", "callback_attempts", "callback_gap"}


def _without_callbacks(data: dict[str, Any]) -> dict[str, Any]:
    queues = {}
    for name, queue in data["queues"].items():
        traffic = {k: v for k, v in queue["traffic"].items() if k != "callback"}
        queues[name] = {**{k: v for k, v in queue.items() if k not in QUEUE_CALLBACK_KEYS}, "traffic": traffic}
    return {**data, "queues": queues}


class Seen:
    """The callback events the simulator handed the core, and the callback rings the core asked for."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.rings: list[RingAgent] = []

    def __call__(self, now: float, event: Event, commands: list[Command]) -> None:
        if isinstance(event, (CallbackAccepted, CallbackEnded)):
            self.events.append(event)
        self.rings += [c for c in commands if isinstance(c, RingAgent) and c.callback]


def _run(scenario: Scenario) -> tuple[SimReport, Simulation, Seen]:
    seen = Seen()
    sim = Simulation(scenario, observer=seen)
    recorded = sim.run()
    return build_report(scenario, recorded, sim.events_handled), sim, seen


def _line(name: str, k: QueueKpis) -> str:
    return (
        f"{name:8} offered {k.offered:4} answered {k.answered:4} abandoned {k.abandoned:3}"
        f" abandon {100 * (k.abandonment_rate or 0):5.1f}% SL {100 * (k.service_level or 0):5.1f}%"
        f" ASA {k.asa or 0:6.1f}s callbacks {k.callbacks:3} (reached {k.callbacks_completed}, failed {k.callbacks_failed})"
    )


def test_the_pair_differs_only_in_callbacks() -> None:
    with open(WITH, "rb") as f:
        with_callbacks = tomllib.load(f)
    with open(WITHOUT, "rb") as f:
        without = tomllib.load(f)
    assert _without_callbacks(with_callbacks) == without
    assert all("callback_after" in q for q in with_callbacks["queues"].values())
    assert load_scenario(WITH).traffic[0].callback_accept > 0


def test_callbacks_lower_abandonment_against_the_same_traffic() -> None:
    before, _, seen_before = _run(load_scenario(WITHOUT))
    after, sim, seen = _run(load_scenario(WITH))
    print("\nwithout callbacks\n" + format_table(before) + "\nwith callbacks\n" + format_table(after))
    assert not seen_before.events and not seen_before.rings
    # the core's own handlers played them: takes, rings of the agent first, the dial's results
    accepted = [e for e in seen.events if isinstance(e, CallbackAccepted)]
    results = {e.status for e in seen.events if isinstance(e, CallbackEnded)}
    assert len(accepted) == sum(k.callbacks for k in after.queues.values()) > 40
    assert {r.call_id for r in seen.rings} == {e.call_id for e in accepted}
    assert results == {"ANSWER", "NOANSWER"}
    for name, k in after.queues.items():
        b = before.queues[name]
        assert k.offered == b.offered  # the same callers
        assert k.callbacks > 10 and b.callbacks == 0
        assert k.callbacks == k.callbacks_completed + k.callbacks_failed  # every callback settled
        assert k.abandoned < b.abandoned, name
        assert k.abandonment_rate is not None and b.abandonment_rate is not None
        assert k.abandonment_rate < b.abandonment_rate, name
        assert k.service_level is not None and b.service_level is not None
        assert k.service_level > b.service_level - 0.03, name  # served later, mostly still within T
    assert after.queues["support"].callbacks_failed > 0  # a caller not reached on the last try
    # a callback is never an abandon: each closed answered (reached) or failed (not reached)
    taken = [r for r in sim.recorded.interactions.values() if is_callback(r)]
    assert taken and {r.outcome for r in taken} == {"answered", "failed"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_effect_holds_for_other_seeds(seed: int) -> None:
    before, _, _ = _run(dataclasses.replace(load_scenario(WITHOUT), seed=seed))
    after, _, _ = _run(dataclasses.replace(load_scenario(WITH), seed=seed))
    print(f"\nseed {seed}")
    for name in after.queues:
        print("  without " + _line(name, before.queues[name]))
        print("  with    " + _line(name, after.queues[name]))
    lost_before = sum(k.abandoned for k in before.queues.values())
    lost_after = sum(k.abandoned for k in after.queues.values())
    assert lost_after < lost_before


def test_the_cli_prints_the_callbacks_per_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", str(WITH), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-6:-2] == ["callbacks", "cb", "reached", "cb"] or "callbacks" in lines[0]
    report, _, _ = _run(load_scenario(WITH))
    for line in lines[1:3]:
        cells = line.split()
        k = report.queues[cells[0]]
        assert cells[-5:-2] == [str(k.callbacks), str(k.callbacks_completed), str(k.callbacks_failed)]
