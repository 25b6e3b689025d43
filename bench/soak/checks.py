"""The soak's verdicts: each check has a figure and passes or fails; any failure fails the run.

They read what the run left: the footprint samples, the channels on both Asterisks, the agents'
live states, the interactions in PostgreSQL and the ACD's /metrics, against what the farm lived.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.soak.footprint import Growth
from bench.soak.ledger import Ledger
from bench.soak.plan import GROWTH_LIMIT

CHECKS = ("footprint RSS", "footprint fds", "channels", "agents", "records", "metrics")
"""Every check the run prints, in order (tests/soak asserts each of them passed)."""

BUSY = ("reserved", "on_call", "wrap_up", "consulting")
OFFERED = ("answered", "abandoned", "overflowed", "failed")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    figure: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.figure}"


def footprint(growth: Growth, name: str, warmup_note: str) -> Check:
    unit = f" {growth.unit}" if growth.unit else ""
    return Check(
        name,
        growth.ratio < GROWTH_LIMIT,
        f"{growth.what} {growth.start:.1f}{unit} at start, {growth.base:.1f}{unit} after {warmup_note}, "
        f"{growth.end:.1f}{unit} at the end (peak {growth.peak:.1f}{unit}): growth {growth.ratio * 100:+.1f} % "
        f"(limit {GROWTH_LIMIT * 100:.0f} %); trend after the warm-up {growth.per_hour:+.1f}{unit} an hour",
    )


def active_channels(cli_output: str) -> int:
    """``core show channels count``: '<n> active channels'."""
    found = re.search(r"^(\d+) active channels?", cli_output, re.MULTILINE)
    if found is None:
        raise ValueError(f"no channel count in {cli_output!r}")
    return int(found.group(1))


def channels(pbx: int, farm: int) -> Check:
    return Check("channels", pbx == 0 and farm == 0, f"{pbx} channel(s) left on the PBX, {farm} on the farm")


def agent_verdicts(agents: Iterable[Mapping[str, Any]], left_in: Mapping[str, str]) -> tuple[list[str], Counter[str]]:
    """Agents not in the state the script left them in (a ``missed`` pause of an agent left ready is
    the ACD's own doing: max_consecutive_misses), and the count by state."""
    wrong: list[str] = []
    states: Counter[str] = Counter()
    for agent in agents:
        state, expected = agent["state"], left_in.get(agent["id"], "ready")
        states[state] += 1
        missed = expected == "ready" and state == "paused" and agent.get("reason") == "missed"
        if state in BUSY or (state != expected and not missed):
            wrong.append(f"{agent['id']} {state} (left {expected})")
    return wrong, states


def agents(wrong: list[str], states: Counter[str]) -> Check:
    by_state = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    stuck = f"; not as left: {', '.join(wrong)}" if wrong else ""
    return Check("agents", not wrong, f"{sum(states.values())} agents: {by_state}{stuck}")


def records(ledger: Ledger, rows: Iterable[Mapping[str, Any]]) -> Check:
    """Every call the PBX answered: exactly one interaction with its caller, with the farm's outcome."""
    by_caller: dict[str, list[str]] = {}
    for row in rows:
        by_caller.setdefault(row["caller"], []).append(row["outcome"] or "open")
    farm = ledger.callers()
    missing = [n for n in farm if n not in by_caller]
    twice = [n for n in farm if len(by_caller.get(n, [])) > 1]
    differ = [
        f"{n} farm {c.outcome} / ACD {by_caller[n][0]}"
        for n, c in farm.items()
        if len(by_caller.get(n, [])) == 1 and by_caller[n][0] != c.outcome
    ]
    strangers = [n for n in by_caller if n not in farm]
    placed = sum(1 for c in ledger.calls.values() if c.placed)
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(Counter(c.outcome for c in farm.values()).items()))
    bad = missing or twice or differ or strangers or not farm
    detail = "".join(
        f"; {what}: {', '.join(items[:8])}{' ...' if len(items) > 8 else ''}"
        for what, items in (("missing", missing), ("twice", twice), ("other outcome", differ), ("unknown", strangers))
        if items
    )
    return Check(
        "records",
        not bad,
        f"{placed} calls placed, {len(farm)} reached the ACD ({outcomes}); "
        f"{len(farm) - len(missing) - len(twice) - len(differ)} recorded exactly once with the farm's outcome{detail}",
    )


def metrics(
    counters: Mapping[tuple[str, str], float], rows: Iterable[Mapping[str, Any]], queues: Iterable[str]
) -> Check:
    """acd_calls_{offered,answered,abandoned,overflowed}_total by queue against the interactions."""
    recorded: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row["outcome"] in OFFERED:
            recorded[(row["queue"], "offered")] += 1
            recorded[(row["queue"], row["outcome"])] += 1
    figures, differ = [], []
    for queue in queues:
        for kind in ("offered", "answered", "abandoned", "overflowed"):
            metric, rec = counters.get((queue, kind), 0.0), recorded[(queue, kind)]
            if metric != rec:
                differ.append(f"{queue} {kind}: /metrics {metric:g}, records {rec}")
        figures.append(
            f"{queue} {recorded[(queue, 'offered')]} offered / {recorded[(queue, 'answered')]} answered / "
            f"{recorded[(queue, 'abandoned')]} abandoned / {recorded[(queue, 'overflowed')]} overflowed"
        )
    tail = f"; differ: {'; '.join(differ)}" if differ else " (equal)"
    return Check("metrics", not differ, f"{', '.join(figures)}{tail}")


def parse_counters(text: str, queues: Iterable[str]) -> dict[tuple[str, str], float]:
    """The four calls counters by (queue, kind) from the /metrics text."""
    wanted = set(queues)
    out: dict[tuple[str, str], float] = {}
    pattern = re.compile(r"^acd_calls_(offered|answered|abandoned|overflowed)_total\{([^}]*)\} (\S+)$", re.MULTILINE)
    for kind, labels, value in pattern.findall(text):
        queue = dict(re.findall(r'(\w+)="([^"]*)"', labels)).get("queue", "")
        if queue in wanted:
            out[(queue, kind)] = out.get((queue, kind), 0.0) + float(value)
    return out
