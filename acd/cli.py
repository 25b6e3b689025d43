"""The ``acd`` command: one entry point, a sub-command per job.

Sub-commands import their machinery lazily so that ``acd check`` stays instant and a missing
optional piece never breaks the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from typing import cast

from acd.agent_actions import phone_codes
from acd.logs import configure_logging
from acd.settings import Settings, SettingsError, load

DEFAULT_CONFIG = "acd.toml"


def _load_or_explain(path: str) -> Settings | None:
    try:
        return load(path)
    except SettingsError as exc:
        print(f"acd: the configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    settings = _load_or_explain(args.config)
    if settings is None:
        return 2
    routing = settings.routing
    print(f"{args.config}: ok ({len(routing.queues)} queues, {len(routing.agents)} agents)")
    if args.dispositions:  # each queue's catalogue, with what an agent's phone dials for each code
        for queue in routing.queues:
            print(f"{queue.name}:")
            for dialled, code in phone_codes(queue.dispositions):
                print(f"  {dialled:<7} {code}")
    return 0


def _run(args: argparse.Namespace) -> int:
    # SIGUSR1 asks the leader to hand over (acd.service installs its handler once the loop runs); until then
    # it is ignored, not the default (which ends the process): one sent early must not kill a starting member
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    settings = _load_or_explain(args.config)
    if settings is None:
        return 2
    if args.instance is not None or args.http_port is not None:  # one config file for both members of a pair
        cluster, http = settings.cluster, settings.http
        settings = dataclasses.replace(
            settings,
            cluster=dataclasses.replace(cluster, instance=args.instance or cluster.instance),
            http=dataclasses.replace(http, port=http.port if args.http_port is None else args.http_port),
        )
    unset = sorted({p.secret_env for p in settings.all_pbxs() if not p.secret})
    if unset:
        verb = "is" if len(unset) == 1 else "are"
        print(f"acd: {', '.join(unset)} {verb} not set: the AMI passwords come from the environment", file=sys.stderr)
        return 2
    from acd.service import serve

    return serve(settings)


def _delegate(module: str) -> Callable[[list[str]], int]:
    """Sub-commands that own their arguments (simulate, report) get the rest of argv."""

    def run(argv: list[str]) -> int:
        entry = importlib.import_module(module).main
        return cast(int, entry(argv))

    return run


DELEGATED = {
    "simulate": ("acd.sim.cli", "run a seeded simulation of the routing core and print its KPIs"),
    "status": ("acd.cluster_status", "who leads the ACD, its epoch and the lease's age, from PostgreSQL"),
    "handover": ("acd.handover", "ask the leading ACD to hand over to its standby now (for an upgrade)"),
    "report": ("acd.records.cli.report", "KPIs per queue and agent for a date range, from PostgreSQL"),
    "mask-callers": ("acd.records.cli.mask_callers", "mask caller numbers, notes and audit details older than N days"),
    "delete-recordings": ("acd.records.cli.delete_recordings", "delete call recordings older than N days (rows stay)"),
    "quarantine": ("acd.records.cli.quarantine", "list the records the outbox quarantined, or replay them once fixed"),
    "customers": ("acd.records.cli.customers", "add or update a customer in the caller directory"),
    "tokens": ("acd.records.cli.tokens", "issue, list or revoke REST API bearer tokens"),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(DELEGATED[argv[0]][0])(argv[1:])
    parser = argparse.ArgumentParser(prog="acd", description="Automatic call distributor for Asterisk.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    check = sub.add_parser("check", help="check a config file and exit")
    check.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    check.add_argument(
        "--dispositions", action="store_true", help="list each queue's disposition codes and their *55<n> numbers"
    )
    check.set_defaults(func=_check)
    run = sub.add_parser("run", help="run the ACD service against Asterisk")
    run.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    run.add_argument("--instance", help="this member's name in the lease (overrides [cluster] instance)")
    run.add_argument("--http-port", type=int, help="the HTTP port (overrides [http] port): two members on one host")
    run.set_defaults(func=_run)
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return cast(int, args.func(args))
