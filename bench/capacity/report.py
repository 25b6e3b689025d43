"""The figures: per step the load, the outcome and each part's CPU per call; then the highest load each
system held and the ratios of the ACD's costs to app_queue's, all from the same run."""

from __future__ import annotations

from collections.abc import Sequence

from bench.capacity.cpu import PARTS
from bench.capacity.plan import SYSTEMS
from bench.capacity.steps import Step
from bench.percentiles import percentile

SHOWN = ("pbx", "pbx2", "farm", "acd", "postgres", "kamailio")  # the driver's own CPU is printed apart


def _ms(values: Sequence[float], q: float) -> str:
    return f"{percentile(list(values), q):.0f}" if values else "-"


def step_line(step: Step) -> str:
    calls = max(1, step.calls)
    per_call = " ".join(
        f"{part}={1000 * step.cpu.get(part, 0.0) / calls:.1f}" for part in SHOWN if part != "pbx2" or step.cpu.get(part)
    )
    figures = (
        f"ring p50/p95 {_ms(step.ring_ms, 50)}/{_ms(step.ring_ms, 95)} ms"
        if step.kind == "rate"
        else f"setup p50/p95 {_ms(step.setup_ms, 50)}/{_ms(step.setup_ms, 95)} ms"
    )
    spread = f" on {dict(sorted(step.on_pbx.items()))}" if len(step.on_pbx) > 1 else ""
    outcome = "PASS" if not step.failure else f"FAIL ({step.failure})"
    return (
        f"  {step.label:>14}: {step.calls} callers{spread}, {figures}, failed {step.failed}: {outcome}\n"
        f"  {'':>14}  CPU ms per caller: {per_call} (driver {1000 * step.cpu.get('driver', 0.0) / calls:.1f});"
        f" step {step.seconds:.0f} s"
    )


def highest(steps: Sequence[Step], system: str, kind: str) -> Step | None:
    passed = [s for s in steps if s.system.key == system and s.kind == kind and not s.failure]
    return max(passed, key=lambda s: s.load) if passed else None


def cost(steps: Sequence[Step], system: str, kind: str, parts: Sequence[str]) -> float | None:
    """CPU ms per caller of ``parts``, over the passing steps of that kind (the load-weighted mean)."""
    chosen = [s for s in steps if s.system.key == system and s.kind == kind and not s.failure and s.calls]
    calls = sum(s.calls for s in chosen)
    return 1000 * sum(s.cpu.get(p, 0.0) for s in chosen for p in parts) / calls if calls else None


def report(steps: Sequence[Step], rates_tried: Sequence[float], holds_tried: Sequence[int]) -> None:
    print("\n== capacity: per step (CPU ms per caller by process, from /proc)")
    for system in SYSTEMS:
        mine = [s for s in steps if s.system.key == system.key]
        if not mine:
            continue
        print(f"{system.title}")
        for step in mine:
            print(step_line(step))
    print(
        "\n== capacity: highest load held (criterion in the docstring; tried: "
        f"rates {', '.join(f'{r:g}' for r in rates_tried)} calls/s, holds {', '.join(map(str, holds_tried))})"
    )
    for system in SYSTEMS:
        rate, hold = highest(steps, system.key, "rate"), highest(steps, system.key, "hold")
        tried = [s for s in steps if s.system.key == system.key]
        if not tried:
            continue
        top = {k: max((s.load for s in tried if s.kind == k), default=0) for k in ("rate", "hold")}
        capped = {k: not any(s.failure for s in tried if s.kind == k) for k in ("rate", "hold")}
        rate_s = f"{rate.load:g} calls/s" if rate else "none"
        hold_s = f"{hold.load:g} callers" if hold else "none"
        note = " (the highest tried: no step failed)" if capped["rate"] and top["rate"] else ""
        note_h = " (the highest tried: no step failed)" if capped["hold"] and top["hold"] else ""
        print(f"  {system.title}: rate {rate_s}{note}; held {hold_s}{note_h}")
    print("\n== capacity: cost per call over the passing rate steps (CPU ms per caller) and ratios")
    groups = {
        "PBX Asterisk(s)": ("pbx", "pbx2"),
        "ACD": ("acd",),
        "PostgreSQL": ("postgres",),
        "Kamailio": ("kamailio",),
        "farm": ("farm",),
    }
    base = {name: cost(steps, "app_queue", "rate", parts) for name, parts in groups.items()}
    for system in SYSTEMS:
        figures = []
        for name, parts in groups.items():
            value = cost(steps, system.key, "rate", parts)
            if value is None:
                continue
            ratio = ""
            if system.key != "app_queue" and base[name] and name == "PBX Asterisk(s)":
                ratio = f" ({value / base[name]:.2f}x app_queue's)"
            figures.append(f"{name} {value:.1f}{ratio}")
        if figures:
            print(f"  {system.title}: {', '.join(figures)}")
    for system in SYSTEMS[1:]:
        acd_pbx = cost(steps, system.key, "rate", ("pbx", "pbx2"))
        acd_all = cost(steps, system.key, "rate", ("pbx", "pbx2", "acd", "postgres", "kamailio"))
        aq = base["PBX Asterisk(s)"]
        if aq and acd_pbx and acd_all:
            print(
                f"  ratio {system.key} / app_queue: PBX CPU per call {acd_pbx / aq:.2f}, all the routing side (PBX"
                f" + ACD + PostgreSQL + Kamailio) per call {acd_all / aq:.2f}"
            )
        for kind, unit in (("rate", "calls/s"), ("hold", "held callers")):
            mine, theirs = highest(steps, system.key, kind), highest(steps, "app_queue", kind)
            if mine and theirs:
                print(f"  ratio {system.key} / app_queue, highest {unit}: {mine.load / theirs.load:.2f}")
    assert set(SHOWN) <= set(PARTS)
