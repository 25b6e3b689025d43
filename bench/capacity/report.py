"""The figures: per step the load, the outcome and each part's CPU per caller; then the highest load each
set-up held and the ratios of the ACD's set-ups to app_queue's, all from the same run."""

from __future__ import annotations

from collections.abc import Sequence

from bench.capacity.plan import SYSTEMS
from bench.capacity.steps import Step
from bench.percentiles import percentile

SHOWN = ("pbx", "pbx2", "farm", "acd", "postgres", "kamailio", "driver")
# the routing side: what a deployment runs (the farm plays the callers and phones; the driver is this benchmark)
GROUPS = {"PBX": ("pbx", "pbx2"), "ACD": ("acd",), "PostgreSQL": ("postgres",), "Kamailio": ("kamailio",)}


def _ms(values: Sequence[float], q: float) -> str:
    return f"{percentile(list(values), q):.0f}" if values else "-"


def step_line(step: Step) -> str:
    per_caller = " ".join(f"{part} {step.per_caller_ms(part):.1f}" for part in SHOWN if step.cpu.get(part))
    figures = (
        f"ring p50/p95 {_ms(step.ring_ms, 50)}/{_ms(step.ring_ms, 95)} ms"
        if step.kind == "rate"
        else f"setup p50/p95 {_ms(step.setup_ms, 50)}/{_ms(step.setup_ms, 95)} ms"
    )
    spread = f" ({', '.join(f'{k} {v}' for k, v in sorted(step.on_pbx.items()))})" if len(step.on_pbx) > 1 else ""
    outcome = "PASS" if not step.failure else f"FAIL: {step.failure}"
    return (
        f"  {step.label:>14}: {step.calls} callers{spread}, {figures}, failed {step.failed}, {outcome}\n"
        f"  {'':>14}  CPU ms per caller, idle taken out: {per_caller} (step {step.seconds:.0f} s)"
    )


def highest(steps: Sequence[Step], system: str, kind: str) -> Step | None:
    passed = [s for s in steps if s.system.key == system and s.kind == kind and not s.failure]
    return max(passed, key=lambda s: s.load) if passed else None


def cost(steps: Sequence[Step], system: str, kind: str, parts: Sequence[str]) -> float | None:
    """CPU ms per caller of ``parts`` (idle taken out) over the passing steps of that kind, weighted by callers."""
    chosen = [s for s in steps if s.system.key == system and s.kind == kind and not s.failure and s.calls]
    calls = sum(s.calls for s in chosen)
    return sum(s.per_caller_ms(p) * s.calls for s in chosen for p in parts) / calls if calls else None


def report(steps: Sequence[Step], rates_tried: Sequence[float], holds_tried: Sequence[int]) -> None:
    print("\n== capacity: every step (CPU ms per caller by process, from /proc, idle CPU taken out)")
    for system in SYSTEMS:
        mine = [s for s in steps if s.system.key == system.key]
        if mine:
            print(system.title)
            for step in mine:
                print(step_line(step))
    rates = ", ".join(f"{r:g}" for r in rates_tried)
    print(f"\n== capacity: highest load held (tried: rates {rates} calls/s; held {', '.join(map(str, holds_tried))})")
    for system in SYSTEMS:
        tried = [s for s in steps if s.system.key == system.key]
        if not tried:
            continue
        said = []
        for kind, unit in (("rate", "calls/s"), ("hold", "callers held")):
            top = highest(steps, system.key, kind)
            failed = next((s for s in tried if s.kind == kind and s.failure), None)
            why = f", failed at {failed.label}: {failed.failure}" if failed else " (no step failed: the highest tried)"
            said.append(f"{top.load:g} {unit}{why}" if top else f"none{why}")
        print(f"  {system.title}: {'; '.join(said)}")
    print("\n== capacity: cost per call, passing rate steps (CPU ms per caller, idle taken out)")
    base = {name: cost(steps, "app_queue", "rate", parts) for name, parts in GROUPS.items()}
    for system in SYSTEMS:
        figures = [
            f"{name} {value:.1f}"
            for name, parts in GROUPS.items()
            if (value := cost(steps, system.key, "rate", parts)) is not None and (value or name == "PBX")
        ]
        if figures:
            print(f"  {system.title}: {', '.join(figures)}")
    print(
        "  every step of the set-up together (rate and held; work a step leaves for later, such as the records"
        " written in batches, is counted too):"
    )
    for system in SYSTEMS:
        mine = [s for s in steps if s.system.key == system.key and s.calls]
        calls = sum(s.calls for s in mine)
        figures = [
            f"{name} {sum(s.per_caller_ms(p) * s.calls for s in mine for p in parts) / calls:.1f}"
            for name, parts in {**GROUPS, "farm": ("farm",)}.items()
            if calls and any(s.cpu.get(p) for s in mine for p in parts)
        ]
        if figures:
            print(f"    {system.title}: {', '.join(figures)}")
    aq_pbx = base["PBX"]
    for system in SYSTEMS[1:]:
        pbx = cost(steps, system.key, "rate", GROUPS["PBX"])
        total = cost(steps, system.key, "rate", tuple(p for parts in GROUPS.values() for p in parts))
        if aq_pbx and pbx is not None and total is not None:
            print(
                f"  ratio {system.key} / app_queue, CPU per call: the PBX(s) {pbx / aq_pbx:.2f}, the whole routing"
                f" side (PBXs, ACD, PostgreSQL, Kamailio) {total / aq_pbx:.2f}"
            )
        for kind, unit in (("rate", "calls/s"), ("hold", "callers held")):
            ours, theirs = highest(steps, system.key, kind), highest(steps, "app_queue", kind)
            if ours and theirs:
                print(f"  ratio {system.key} / app_queue, highest {unit}: {ours.load / theirs.load:.2f}")
