"""Same scenario and seed give identical figures; the CLI prints them as a table or JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sim_scenarios import run

from acd.sim.cli import main
from acd.sim.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "contact_center.toml"


def test_same_seed_same_figures_and_records() -> None:
    scenario = dataclasses.replace(load_scenario(EXAMPLE), hours=0.5)
    first, sim1 = run(scenario)
    second, sim2 = run(scenario)
    assert first == second
    assert sim1.recorded == sim2.recorded
    other, _ = run(dataclasses.replace(scenario, seed=scenario.seed + 1))
    assert other.queues != first.queues


def test_example_scenario_loads_with_every_feature() -> None:
    scenario = load_scenario(EXAMPLE)
    names = [q.name for q in scenario.queues]
    assert names == ["billing", "support"]
    support = scenario.queues[1]
    assert support.widening[0].extra_skills[0].skill == "billing"
    assert scenario.traffic[0].talk.distribution == "lognormal"
    assert sum(g.count for g in scenario.agents) == len(scenario.routing_config().agents) == 22


def test_cli_json_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--scenario", str(EXAMPLE), "--hours", "0.5", "--json", "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert set(data["queues"]) == {"billing", "support"}
    assert data["queues"]["billing"]["offered"] > 0


def test_cli_table_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", str(EXAMPLE), "--hours", "0.5", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].split()[:3] == ["queue", "offered", "answered"]
    assert "simulated 30 of 30 min" in captured.err


def test_cli_reports_a_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("hours = 1\nnonsense = 2\n")
    assert main(["--scenario", str(bad)]) == 2
    assert "unknown keys nonsense" in capsys.readouterr().err
