"""Inside the namespace: bring the stack up, measure, print, stop; and the command line of both sides."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import bench.vs_app_queue
from bench.vs_app_queue.acd_side import START_WITHIN, bench_acd, ensure_ready, stop_acd
from bench.vs_app_queue.isolation import BENCH_ROOT, BENCH_STATE, NETNS, OURS, SOURCE_ROOT, Paths, pbx_sh, run_isolated
from bench.vs_app_queue.measure import measure
from bench.vs_app_queue.pbx_config import install_bench_config, read_secrets
from bench.vs_app_queue.plan import AGENTS, log
from bench.vs_app_queue.report import report
from phonefarm import AmiError
from phonefarm.acd_process import AcdProcess


def run_inside(args: argparse.Namespace) -> int:
    """Inside the namespace: bring the stack up, measure, print, and stop what was started."""
    began = time.monotonic()
    deadline = began + args.time_limit - 40.0  # leave time for the orderly stop
    paths = Paths(args.root.absolute(), args.state_dir.absolute(), None)

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    acd: AcdProcess | None = None
    try:
        log("pbx.sh build / install (bench root)")
        pbx_sh(paths, "build", within=900)
        (paths.root / OURS).touch()  # a debootstrap (no root to copy) replaced the folder
        pbx_sh(paths, "install")
        listener_secret = install_bench_config(
            paths.root, breakdown=not args.no_breakdown, event_filter=not args.no_event_filter
        )
        log("pbx.sh start all (waits for the farm's agents to register, up to ~10 s)")
        pbx_sh(paths, "start", "all", within=180)
        shown = pbx_sh(paths, "rx", "pbx", "queue show bench")
        if sum(f"PJSIP/{a}" in shown for a in AGENTS) != len(AGENTS):
            raise RuntimeError(f"app_queue's queue bench is not as configured:\n{shown}")
        log("starting the ACD (embedded PostgreSQL, migrations)")
        acd = bench_acd(
            paths.state / "acd",
            read_secrets(paths.secrets)["ACD_AMI_SECRET"],
            shlex.split(args.acd_command) if args.acd_command else [sys.executable, "-m", "acd"],
            claim=args.claim,
        )
        acd.start(START_WITHIN)
        ensure_ready(acd)
        results = asyncio.run(
            measure(paths, listener_secret, acd, args.calls, args.warmup, deadline, args.only, args.metric)
        )
        complete = report(results, args.calls)
        if args.json:
            args.json.write_text(json.dumps(results.dump, indent=1))
            log(f"samples written to {args.json}")
        log(f"measured in {time.monotonic() - began:.0f} s")
        return 0 if complete else 1
    except (RuntimeError, AmiError, OSError, subprocess.SubprocessError, urllib.error.URLError) as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        if acd is not None:
            log(f"ACD log tail:\n{acd.tail(30)}")
        return 1
    finally:
        if acd is not None:
            stop_acd(acd)
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pbx_sh(paths, "stop", "all", within=120)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(bench.vs_app_queue.__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200, help="samples per system and metric (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="samples dropped first in each phase (default 10)")
    parser.add_argument("--netns", default=NETNS, help=f"network namespace to create and delete (default {NETNS})")
    parser.add_argument(
        "--no-netns",
        action="store_true",
        help="run in the current network namespace (only where nothing else uses the PBX ports)",
    )
    parser.add_argument(
        "--source-root",
        type=Path,
        default=SOURCE_ROOT,
        help=f"the built Asterisk root to copy, read-only (default {SOURCE_ROOT})",
    )
    parser.add_argument("--root", type=Path, default=BENCH_ROOT, help=f"the root copy (default {BENCH_ROOT})")
    parser.add_argument("--state-dir", type=Path, default=BENCH_STATE, help=f"state dir (default {BENCH_STATE})")
    parser.add_argument("--keep", action="store_true", help="keep the root copy and the state dir afterwards")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=600.0,
        help="seconds for the measurement, stack start included (default 600)",
    )
    parser.add_argument(
        "--acd-command",
        default="",
        help="the command that runs the ACD, before 'run -c <config>' (default: this Python, -m acd); "
        "e.g. another checkout's '/other/.venv/bin/python -m acd'",
    )
    parser.add_argument(
        "--only",
        choices=("acd", "app_queue"),
        help="measure one system only (experiments; no ratios, no target for (a))",
    )
    parser.add_argument(
        "--metric",
        choices=("idle", "waiting"),
        help="measure one metric only: (a) idle or (b) waiting (experiments; with --only acd, one phase)",
    )
    parser.add_argument(
        "--no-breakdown",
        action="store_true",
        help="listener without the dialplan class: end-to-end figures only (a control for its load)",
    )
    parser.add_argument(
        "--claim",
        action="store_true",
        help="the ACD with [routing] claim_on_pbx = true: the next agent claimed by the dialplan (docs/dialplan.md)",
    )
    parser.add_argument(
        "--no-event-filter",
        action="store_true",
        help="the ACD's AMI user without its eventfilter lines: every event of its read classes (a control)",
    )
    parser.add_argument("--json", type=Path, help="also write every sample and its PBX events to this file")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.warmup < 0:
        parser.error("--calls must be positive and --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_inside(args) if args.inside else run_isolated(args)
