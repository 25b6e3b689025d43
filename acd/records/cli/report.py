"""``acd report``: KPIs per queue and per agent for a date range, from the records.

    acd report --objectives [--at 2026-11-02T15:00] [-c acd.toml] [--format table|csv|json]
    acd report --from 2026-11-01 --to 2026-11-02 [--by queue|agent|disposition|otf] [--format table|csv|json]
    acd report --from 2026-11-01 --to 2026-11-02 --interval 15m [--zone Europe/Berlin] [--format csv]

``--by otf`` judges by the OTF criteria of the routing config in force (``_in_force``: the latest stored
revision, else the file ``--config``, default acd.toml), as of now (or ``--as-of``): interactions whose
repeat-contact window is still open are counted as pending. ``--by agent`` prints the scorecards with
each agent's OTF (the same query and criteria) and, under them (a column in CSV), the agent's figures
against their team's objectives, the teams and objectives of that same config.

The figures are ``acd.records.report``'s queries (docs/kpis.md), per interval
``acd.records.intervals``' and per agent ``acd.records.scorecard``'s; this module reads the arguments
and prints them as a table, CSV or JSON. With ``--interval`` the CSV is the interval-history layout
workforce-management tools import. Calls of the period still open are named on stderr, not counted
silently. The database is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncEngine

from acd import settings
from acd.core.config import RoutingConfig
from acd.records import intervals, report, scorecard
from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.objectives import AgentCheck


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _minutes(value: str) -> int:
    minutes = {f"{m}m": m for m in intervals.INTERVAL_MINUTES}.get(value)
    if minutes is None:
        raise argparse.ArgumentTypeError(f"one of {', '.join(f'{m}m' for m in intervals.INTERVAL_MINUTES)}")
    return minutes


def _zone(value: str) -> tzinfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def _flat(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A table or CSV cell holds one value: a mapping is written ``key=value;key=value``, a time in ISO."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, dict) and fmt != "json":
            value = ";".join(f"{k}={_cell(v)}" for k, v in value.items())
        out[key] = value
    return out


def _render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if not rows:
        return "(no data)\n" if fmt == "table" else ""
    columns = list(rows[0])
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


async def _in_force(engine: AsyncEngine, path: str) -> tuple[settings.Settings, RoutingConfig]:
    """The config file's settings and the routing config in force: the latest stored revision's (its
    queues, teams and objectives, as the service runs them), else the file's."""
    from acd.records.stores import config_revisions

    found = settings.load(path)
    config = found.routing
    stored = await config_revisions.latest(engine)
    if stored is not None:
        config = settings.routing_from_document(stored.document, config.policy, f"config revision {stored.revision}")[0]
    return found, config


async def _objectives(engine: AsyncEngine, args: argparse.Namespace) -> int:
    """Every objective of the config at ``--at`` (default now): the same figures as GET /api/v1/objectives."""
    from zoneinfo import ZoneInfo

    from acd.records.objectives import standings

    loaded, config = await _in_force(engine, args.config)
    found = await standings(
        engine,
        config.objectives,
        config.agents,
        ZoneInfo(loaded.objectives_zone),
        args.at or datetime.now(UTC),
        loaded.routing.policy.short_abandon_seconds,
        queues=config.queues,
    )
    rows = [{k: v for k, v in s.json().items() if k != "note"} for s in found]
    for row in rows:
        row["members"] = ",".join(row["members"])
    sys.stdout.write(_render(rows, args.format))
    return 0


_SECTION = "objectives (the agent's figure over the period against each objective of their team and their own):"


def _verdict(met: bool | None) -> str:
    return "-" if met is None else "met" if met else "not met"


def _checks_cell(checks: list[AgentCheck]) -> str:
    """A scorecard's objectives in one CSV cell: ``name: value cmp target verdict`` joined by ``;``."""
    return ";".join(
        f"{c.objective}: {_cell(c.value)} {c.comparison} {_cell(c.target)} {_verdict(c.met)}" for c in checks
    )


_BLANK = ("metric", "scope", "value", "comparison", "target")


def _checks_section(cards: list[scorecard.Scorecard]) -> list[dict[str, Any]]:
    """One row per agent and objective; an agent with none says why (no team, or none of their team's)."""
    rows: list[dict[str, Any]] = []
    for card in cards:
        for c in card.objectives:
            rows.append(
                {
                    "agent": card.agent,
                    "team": card.team,
                    "objective": c.objective,
                    "metric": c.metric,
                    "scope": c.scope,
                    "value": c.value,
                    "comparison": c.comparison,
                    "target": c.target,
                    "met": _verdict(c.met),
                }
            )
        if not card.objectives:
            none = "(no team: no team objectives)" if card.team is None else "(none for this team)"
            rows.append(
                {"agent": card.agent, "team": card.team, "objective": none, **dict.fromkeys(_BLANK), "met": "-"}
            )
    return rows


async def _report(engine: AsyncEngine, args: argparse.Namespace) -> int:
    if args.objectives:
        return await _objectives(engine, args)
    section: list[dict[str, Any]] | None = None  # --by agent as a table: the objectives under it
    if args.interval is not None:
        found = await intervals.interval_report(
            engine, args.start, args.end, args.interval, args.zone or _local_zone(), args.short_abandon
        )
        rows = intervals.wfm_rows(found) if args.format == "csv" else [dataclasses.asdict(r) for r in found]
    elif args.by == "agent":
        try:
            loaded, config = await _in_force(engine, args.config)
        except settings.SettingsError as exc:
            sys.stderr.write(f"{exc}\n")
            return 2
        cards = await scorecard.scorecards(
            engine, args.start, args.end, config, as_of=args.as_of, zone=ZoneInfo(loaded.objectives_zone)
        )
        rows = [dataclasses.asdict(a) for a in cards]
        if args.format == "table":  # the objectives in a section of their own under the scorecards
            section = _checks_section(cards)
            rows = [{k: v for k, v in r.items() if k != "objectives"} for r in rows]
        elif args.format == "csv":  # one column
            rows = [{**r, "objectives": _checks_cell(c.objectives)} for r, c in zip(rows, cards, strict=True)]
    elif args.by == "otf":
        try:
            _, routing = await _in_force(engine, args.config)
        except settings.SettingsError as exc:
            sys.stderr.write(f"{exc}\n")
            return 2
        as_of = args.as_of if args.as_of is not None else datetime.now(UTC)
        rows = [
            {"level": r.level, "queue": r.queue, "agent": r.agent, "kind": r.kind, **dataclasses.asdict(r.counts)}
            for r in await report.otf_report(
                engine,
                args.start,
                args.end,
                routing.queues,
                as_of=as_of,
                short_abandon_seconds=routing.policy.short_abandon_seconds,
            )
        ]
    elif args.by == "disposition":
        rows = [dataclasses.asdict(d) for d in await report.disposition_report(engine, args.start, args.end)]
    else:
        kpis = await report.queue_report(engine, args.start, args.end, args.short_abandon)
        rows = [{"queue": q, **dataclasses.asdict(k)} for q, k in kpis.items()]
    sys.stdout.write(_render([_flat(r, args.format) for r in rows], args.format))
    if section is not None:
        sys.stdout.write(f"\n{_SECTION}\n{_render(section, 'table')}")
    note = report.open_calls_note(await report.open_calls(engine, args.start, args.end))
    if note is not None:
        print(note, file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd report", description="KPIs per queue or agent (docs/kpis.md).")
    parser.add_argument("--from", dest="start", type=_when, help="ISO date/time, UTC if naive")
    parser.add_argument("--to", dest="end", type=_when, help="exclusive end, ISO date/time")
    parser.add_argument(
        "--objectives",
        action="store_true",
        help="each objective of the config over its period so far: attainment, projection, status",
    )
    parser.add_argument("--at", type=_when, help="with --objectives: the moment to stand at (default now)")
    parser.add_argument(
        "-c",
        "--config",
        default="acd.toml",
        help="the config: its objectives (--objectives), its OTF criteria (--by otf), its teams and "
        "objectives and OTF criteria (--by agent); the latest stored revision's where there is one",
    )
    parser.add_argument(
        "--by",
        choices=("queue", "agent", "disposition", "otf"),
        default="queue",
        help="disposition: handled calls per queue, disposition kind and code, with their share; "
        "otf: OTF and FCR per queue, agent and disposition kind",
    )
    parser.add_argument(
        "--as-of", type=_when, default=None, help="with --by otf or agent: judge OTF as of then (default now)"
    )
    parser.add_argument(
        "--interval",
        type=_minutes,
        default=None,
        help="15m, 30m or 60m: per queue and interval of local time (CSV: the WFM interval-history layout)",
    )
    parser.add_argument(
        "--zone", type=_zone, default=None, help="IANA time zone the intervals follow (default: this host's)"
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--short-abandon", type=float, default=5.0, help="S in seconds (policy)")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if not args.objectives and (args.start is None or args.end is None):
        parser.error("--from and --to are required (or --objectives)")
    if not args.objectives and args.end <= args.start:
        parser.error("--to must be after --from")
    if args.interval is not None and args.by != "queue":
        parser.error("--interval reports per queue: leave out --by")
    return run_with_engine(parser.prog, args, lambda engine: _report(engine, args))
