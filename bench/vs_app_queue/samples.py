"""The samples of a phase, from the recorded events, and where their time goes (the PBX events on the way)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from bench.vs_app_queue.phases import Phase, Sample
from bench.vs_app_queue.plan import AGENTS, INF
from bench.vs_app_queue.recorder import Leg, Recorder


def idle_samples(rec: Recorder, phase: Phase, warmup: int) -> tuple[list[Sample], int]:
    """(a) samples after the warm-up: callers who entered while an agent was idle and nobody waited.
    Returns them and how many callers did not qualify (or never entered, or were never offered)."""
    numbers = phase.numbers
    mine = set(numbers)
    ends = {(h.agent, h.number): h.ts for h in rec.agent_hangups if h.number in mine}
    busy = [(leg.ts, ends.get((leg.agent, leg.number), INF), leg.agent) for leg in rec.invites if leg.number in mine]
    samples: list[Sample] = []
    excluded = 0
    for number in numbers[warmup:]:
        joined, invite = rec.join.get(number), rec.first_invite.get(number)
        if joined is None or invite is None or joined > phase.stopped_at:
            excluded += 1
            continue
        agents_busy = {agent for start, end, agent in busy if start <= joined <= end + 0.05}
        if len(agents_busy) >= len(AGENTS) or rec.waiting_at(numbers, joined, but=number):
            excluded += 1
            continue
        samples.append(Sample(joined, invite.ts, invite.agent, number))
    return samples, excluded


def waiting_samples(rec: Recorder, phase: Phase, warmup: int) -> tuple[list[Sample], int]:
    """(b) samples after the warm-up: an agent's hangup while callers waited, to its next INVITE.
    Returns them and how many hangups did not qualify (nobody was waiting)."""
    mine = set(phase.numbers)
    by_agent: dict[str, list[Leg]] = defaultdict(list)
    for leg in sorted(rec.invites, key=lambda x: x.ts):
        if leg.number in mine:
            by_agent[leg.agent].append(leg)
    found: list[Sample] = []
    excluded = 0
    for hangup in sorted(rec.agent_hangups, key=lambda x: x.ts):
        if hangup.number not in mine or hangup.ts >= phase.stopped_at:
            continue
        following = [leg for leg in by_agent[hangup.agent] if leg.ts > hangup.ts]
        if not following:
            continue
        if not rec.waiting_at(phase.numbers, hangup.ts):
            excluded += 1
            continue
        found.append(Sample(hangup.ts, following[0].ts, hangup.agent, following[0].number, hangup.number))
    return found[warmup:], excluded


def checkpoints(rec: Recorder, phase: Phase, sample: Sample) -> list[tuple[str, float | None]]:
    """The PBX events between a sample's two ends, in path order (each the first after the one before)."""
    points: list[tuple[str, float | None]] = []
    at: float | None = sample.start

    def step(name: str, what: str, key: str, optional: bool = False, before: float | None = None) -> None:
        nonlocal at
        found = None if at is None else rec.first_mark(what, key, at, sample.end)
        if found is not None and before is not None and found > before:
            found = None  # not this step: it came after the one it must precede
        if found is None and optional:
            return  # a step the ACD leaves out when it can (the Setvars of an offer in the old form)
        at = found
        points.append((name, at))

    if phase.metric == "idle":
        points.append(("AcdEnqueue" if phase.system == "acd" else "QueueCallerJoin", sample.start))
    else:
        points.append(("FarmAgentHangup", sample.start))
        if phase.system == "acd":
            step("AcdDialResult (call ended, PBX)", "dial_result", sample.previous)
        else:
            step("Hangup of the agent leg (PBX)", "pbx_agent_hangup", sample.agent)
            step("QueueMemberStatus not in use", "member_free", sample.agent)
    if phase.system == "acd":
        # the old form's Setvars land before its Redirect; an offer in one action (its Redirect carries it
        # all) has none, and acd-connect sets the same variables after it landed: not a step before it
        landed = None if at is None else rec.first_mark("acd_connect", sample.number, at, sample.end)
        dial = None if at is None else rec.first_mark("dial_app", sample.number, at, sample.end)
        if dial is None or (landed is not None and landed < dial):  # a claim rings with no Redirect
            step("Setvar ACD_OFFER applied", "setvar_offer", sample.number, optional=True, before=landed)
            step("Setvar ACD_RING_TIMEOUT applied", "setvar_ring_timeout", sample.number, optional=True, before=landed)
            step("Redirect: acd-connect,1 runs", "acd_connect", sample.number)
        step("Dial() starts", "dial_app", sample.number)
    step("agent leg made (PBX Newchannel)", "pbx_agent_channel", sample.agent)
    points.append(("INVITE at the phone (farm)", sample.end if at is not None else None))
    return points


def break_down(rec: Recorder, phase: Phase) -> None:
    rows: dict[str, list[float]] = {}
    order: list[str] = []
    before_start = "acd-enqueue answered -> AcdEnqueue (before (a)'s start)"
    for sample in phase.samples:
        if phase.system == "acd" and phase.metric == "idle":
            # a claim (docs/dialplan.md, "Claims") raises AcdEnqueue only as it dials: what it spends before
            entry = rec.first_mark("enqueue_entry", sample.number, sample.start - 1.0, sample.start)
            if entry is not None:
                if before_start not in rows:
                    rows[before_start] = []
                    order.append(before_start)
                rows[before_start].append((sample.start - entry) * 1000.0)
        points = checkpoints(rec, phase, sample)
        if any(ts is None for _, ts in points):
            continue
        for (previous, before), (step, ts) in itertools.pairwise(points):
            assert before is not None and ts is not None
            name = f"{previous} -> {step}"
            if name not in rows:
                rows[name] = []
                order.append(name)
            rows[name].append((ts - before) * 1000.0)
    phase.breakdown = [(name, rows[name]) for name in order]


def entry_and_steps(rec: Recorder, phase: Phase) -> None:
    """(a) counted from the dialplan's entry, the same point for both systems: the bench's ``BenchEntry``
    UserEvent, past the ``Answer()`` and just before ``Queue()`` or acd-enqueue, so each system's whole
    way to the ring is in (the ACD's steps before ``AcdEnqueue``, a claim's, too); and, for the ACD, what
    each of its dialplan steps costs (the time from its Newexten to the next one's, the last to the
    INVITE) on the path most samples took (the dialplan class only)."""
    if phase.metric != "idle":
        return
    paths: dict[tuple[str, ...], list[list[float]]] = defaultdict(list)
    for sample in phase.samples:
        entry = rec.first_mark("entry", sample.number, sample.start - 1.0, sample.start)
        if entry is None:
            continue
        phase.from_entry.append((sample.end - entry) * 1000.0)
        steps = [x for x in rec.steps.get(sample.number, []) if entry <= x.ts <= sample.end]
        if phase.system == "acd" and steps:
            ends = [x.ts for x in steps[1:]] + [sample.end]
            paths[tuple(x.name for x in steps)].append([(e - x.ts) * 1000.0 for x, e in zip(steps, ends, strict=True)])
    if not paths:
        return
    counts = Counter({path: len(costs) for path, costs in paths.items()})
    path, count = counts.most_common(1)[0]
    phase.step_path_share = (count, sum(counts.values()))
    phase.step_costs = [(name, [costs[i] for costs in paths[path]]) for i, name in enumerate(path)]
