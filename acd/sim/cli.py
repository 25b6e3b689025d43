"""``acd simulate``: run a scenario through the routing core and print its KPIs.

acd simulate --scenario bench/scenarios/contact_center.toml [--seed N] [--hours H] [--queue-choice C] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from acd.sim.engine import Simulation
from acd.sim.report import build_report, format_table
from acd.sim.scenario import load_scenario


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acd simulate", description="Simulate traffic through the routing core.")
    p.add_argument("--scenario", required=True, help="scenario TOML file")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--hours", type=float, help="override the scenario's length of arrivals")
    p.add_argument(
        "--queue-choice",
        choices=("service_level", "deadline"),
        help="override the scenario's [routing] queue_choice (docs/routing-core.md)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        print(f"acd simulate: {args.scenario}: {exc}", file=sys.stderr)
        return 2
    if args.seed is not None:
        scenario = dataclasses.replace(scenario, seed=args.seed)
    if args.hours is not None:
        scenario = dataclasses.replace(scenario, hours=args.hours)

    if args.queue_choice is not None:
        policy = dataclasses.replace(scenario.policy, queue_choice=args.queue_choice)
        scenario = dataclasses.replace(scenario, policy=policy)

    tty = sys.stderr.isatty()

    def progress(done: float, horizon: float) -> None:
        line = f"simulated {done / 60:.0f} of {horizon / 60:.0f} min"
        print(f"\r{line}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    sim = Simulation(scenario, None if args.quiet else progress)
    recorded = sim.run()
    if not args.quiet and tty:
        print(file=sys.stderr)
    report = build_report(scenario, recorded, sim.events_handled)
    print(report.to_json() if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
