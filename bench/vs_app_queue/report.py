"""The figures: p50/p99 per system and load, ratios, the targets, where the time goes, the slowest samples."""

from __future__ import annotations

from bench.percentiles import percentile
from bench.vs_app_queue.measure import Results
from bench.vs_app_queue.pbx_config import APP_QUEUE_SETTINGS
from bench.vs_app_queue.plan import REFERENCE, TARGET_IDLE_MS, TARGET_WAITING_MS


def report(results: Results, calls: int) -> bool:
    phases, rtt, offsets = results.phases, results.ami_rtt_ms, results.ringing_after_ms
    by = {(p.system, p.metric): p for p in phases}
    print()
    print("ACD vs app_queue - same PBX (Asterisk 22), same phone farm, agents agent11..14, one run")
    print(f"app_queue: queue bench, {APP_QUEUE_SETTINGS}")
    print("ACD:       queue bench, wrapup 0, ring_timeout 15 s, agents logged in over HTTP, docs/dialplan.md contract")
    print("(a) from AcdEnqueue / QueueCallerJoin (PBX) to the farm's Newchannel of the agent's phone (INVITE in)")
    print("(b) from FarmAgentHangup (previous call ends) to the same phone's next INVITE, 8 callers waiting")
    print()
    print(f"{'system':<10} {'metric':<20} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'excluded':>9}")
    for p in phases:
        ms = [s.ms for s in p.samples]
        print(
            f"{p.system:<10} {p.label:<20} {len(ms):>5} {percentile(ms, 50):>9.2f} {percentile(ms, 99):>9.2f} "
            f"{p.excluded:>9}"
        )

    def figures(system: str, metric: str) -> list[float]:
        return [s.ms for s in by[(system, metric)].samples] if (system, metric) in by else []

    if len({p.system for p in phases}) == 2:
        print()
        print("ratios ACD / app_queue:")
        for metric in sorted({p.metric for p in phases}):
            a, q = figures("acd", metric), figures("app_queue", metric)
            if not a or not q:
                continue
            print(
                f"  {by[('acd', metric)].label:<20} p50 {percentile(a, 50) / percentile(q, 50):6.2f}x   "
                f"p99 {percentile(a, 99) / percentile(q, 99):6.2f}x"
            )
    entered = [p for p in phases if p.from_entry]
    if entered:
        print()
        print("(a) from the dialplan's entry (the bench's UserEvent BenchEntry, past Answer(), just before Queue() /")
        print("    acd-enqueue) to the INVITE: each system's whole way, the ACD's steps before AcdEnqueue too:")
        for p in entered:
            print(
                f"  {p.system:<10} n={len(p.from_entry):<4} p50 {percentile(p.from_entry, 50):7.2f}  "
                f"p99 {percentile(p.from_entry, 99):7.2f}"
            )
        if ("acd", "idle") in by and ("app_queue", "idle") in by:
            a, q = by[("acd", "idle")].from_entry, by[("app_queue", "idle")].from_entry
            if a and q:
                print(
                    f"  ratio ACD / app_queue: p50 {percentile(a, 50) / percentile(q, 50):6.2f}x   "
                    f"p99 {percentile(a, 99) / percentile(q, 99):6.2f}x"
                )
    print()
    print("targets:")
    if ("acd", "idle") in by and ("app_queue", "idle") in by:
        gap = percentile(figures("acd", "idle"), 50) - percentile(figures("app_queue", "idle"), 50)
        print(
            f"  (a) ACD p50 within {TARGET_IDLE_MS:g} ms of app_queue's: {gap:+.2f} ms -> "
            f"{'MET' if gap <= TARGET_IDLE_MS else 'MISSED'}"
        )
        entry = [by[(x, "idle")].from_entry for x in ("acd", "app_queue")]
        for name, (a, q) in (
            ("from AcdEnqueue", (figures("acd", "idle"), figures("app_queue", "idle"))),
            ("from the entry", entry),
        ):
            if a and q:
                r50, r99 = percentile(a, 50) / percentile(q, 50), percentile(a, 99) / percentile(q, 99)
                print(
                    f"  (a) {name}: ACD p50 at most app_queue's and p99 no worse: ratios {r50:.2f} / {r99:.2f} -> "
                    f"{'MET' if r50 <= 1.0 and r99 <= 1.0 else 'MISSED'}"
                )
    if ("acd", "waiting") in by:
        p50, p99 = percentile(figures("acd", "waiting"), 50), percentile(figures("acd", "waiting"), 99)
        print(
            f"  (b) ACD p50 at most {TARGET_WAITING_MS:g} ms: {p50:.2f} ms -> "
            f"{'MET' if p50 <= TARGET_WAITING_MS else 'MISSED'} (p99 {p99:.2f} ms)"
        )
    print(f"  reference, {REFERENCE}")
    print()
    print("where the time goes: PBX events on the way, p50 / p99 ms of each step, over the samples that have them all")
    for p in phases:
        if not p.breakdown:
            print(f"  {p.system} {p.label}: no sample has all of its events (the dialplan class needs the breakdown)")
            continue
        print(f"  {p.system} {p.label} (n={len(p.breakdown[0][1])}):")
        for name, values in p.breakdown:
            print(f"    {name:<62} {percentile(values, 50):8.2f} {percentile(values, 99):8.2f}")
    for p in phases:
        if p.step_costs:
            on, of = p.step_path_share
            print(
                f"  {p.system} {p.label}, each dialplan step of the caller from the entry "
                f"(its Newexten to the next, so its own run and the next step's arguments; the last to the INVITE), "
                f"on the path of {on} of {of} samples:"
            )
            for name, values in p.step_costs:
                print(f"    {name:<62} {percentile(values, 50):8.3f} {percentile(values, 99):8.3f}")
    outliers = [(p, sample, points) for p in phases for sample, points in p.outliers]
    if outliers:
        print()
        print("slowest samples above 5x their p50 (and 50 ms), with the PBX events on the way (ms after the start):")
        for p, sample, points in outliers:
            steps = ", ".join(
                f"{name} {'-' if ts is None else f'{(ts - sample.start) * 1000:.1f}'}" for name, ts in points[1:]
            )
            print(f"  {p.system} {p.label}: {sample.ms:.1f} ms, caller {sample.number} -> {sample.agent}: {steps}")
    print()
    print(
        f"AMI Ping round trip from a Python client (panoramisk), n={len(rtt)}: p50 {percentile(rtt, 50):.2f} ms, "
        f"p99 {percentile(rtt, 99):.2f} ms (each sequential ACD action costs about one)"
    )
    print(
        f"farm: FarmAgentRinging comes {percentile(offsets, 50):.2f} ms (p50) after the Newchannel used as "
        f"'INVITE received'"
    )
    complete = all(len(p.samples) >= calls for p in phases)
    if not complete:
        print(f"INCOMPLETE: fewer than {calls} samples in some phase (time limit, or callers excluded)")
    return complete
