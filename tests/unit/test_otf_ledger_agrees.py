"""The live OTF ledger gives the same verdicts as the ledger it replaced (docs/kpis.md, "OTF and FCR").

``OtfLedger`` holds a handled call as its slim ``AnsweredCall`` and looks an arrival's repeat candidates
up by queue and number or customer; the ledger it replaced (``bench.otf_ledger_before.ScanLedger``, with
the verdict and the repeat check as they were) held whole records and read them all on each arrival.
Fed the same random traffic (snapshots in and out of order, numbers and customers learnt late, late
dispositions, settling ticks, a reconfiguration, a restart's seed), both hand back the same verdicts at
the same moments and count the same pending ones.

The one place they part on purpose: a handled call's snapshot first seen long after its wrap-up ended
(``acd.core.otf.LATE_SNAPSHOT_SECONDS``) is a late one of a call judged already, which the ledger drops
without keeping every settled id for a day; the one before judged it again once it had forgotten the id
(after a day), or when the call was in progress at the seed. There the ledger must hand back nothing,
and the one before is not fed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.core import otf
from acd.core.config import OtfCriteria, QueueConfig, SkillRequirement
from acd.core.otf import OtfLedger, Verdict
from acd.core.record_types import InteractionRecord
from bench.otf_ledger_before import ScanLedger

RESOLVING = ("support/resolved", "order/new")


def _queue(name: str, **otf: object) -> QueueConfig:
    return QueueConfig(
        name,
        (SkillRequirement("s"),),
        sla_threshold_seconds=20.0,
        max_handle_seconds=300.0,
        resolving_dispositions=RESOLVING,
        otf=OtfCriteria(**otf),  # type: ignore[arg-type]
    )


BEFORE = {
    "q1": _queue("q1", repeat_window_seconds=600.0, order_promise_seconds=400.0),
    "q2": _queue("q2", repeat_window_seconds=0.0, handle=False),
    "q3": _queue("q3", repeat_window_seconds=2000.0, resolving=False),
}
AFTER = {  # a reconfiguration: q1's window longer, q2 gone, q3's window shorter
    "q1": _queue("q1", repeat_window_seconds=1200.0),
    "q3": _queue("q3", repeat_window_seconds=300.0, answer=False),
}
QUEUES = ("q1", "q3", "q1", "q3", "q2", "gone")
CALLERS = ("", "5551", "5552", "5553")
CUSTOMERS = (None, None, "c1", "c2")
LINKS = ("", "L1", "L2")
DISPOSITIONS = (None, "support/resolved", "order/new", "complaint/billing")
STAGES = ("waiting", "talking", "wrapping", "handled", "abandoned", "overflowed", "failed", "moved", "transferred")


@dataclasses.dataclass(frozen=True)
class Snap:
    """One snapshot of interaction ``which``, after the clock moved on by ``later``."""

    which: int
    stage: str
    seq: int
    queue: str
    caller: str
    customer: str | None
    link: str
    disposition: str | None
    wait: float
    talk: float
    later: float


@dataclasses.dataclass(frozen=True)
class Tick:
    later: float


@dataclasses.dataclass(frozen=True)
class Reconfigure:
    pass


snapshot = st.builds(
    Snap,
    st.integers(0, 30),
    st.sampled_from(STAGES),
    st.integers(0, 6),
    st.sampled_from(QUEUES),
    st.sampled_from(CALLERS),
    st.sampled_from(CUSTOMERS),
    st.sampled_from(LINKS),
    st.sampled_from(DISPOSITIONS),
    st.sampled_from((1.0, 4.0, 15.0, 25.0)),
    st.sampled_from((30.0, 200.0, 350.0)),
    st.sampled_from((0.0, 10.0, 120.0, 400.0)),
)
tick = st.builds(Tick, st.sampled_from((1.0, 100.0, 599.0, 1500.0, 84000.0, 90000.0)))


# mostly snapshots, a settling tick now and then, a reconfiguration rarely
def _step(draw: int) -> st.SearchStrategy[Snap | Tick | Reconfigure]:
    if draw == 0:
        return st.just(Reconfigure())
    return tick if draw < 5 else snapshot


step = st.integers(0, 19).flatmap(_step)


def _record(times: tuple[float, float, float], s: Snap) -> InteractionRecord:
    """The snapshot ``s`` of its interaction, whose arrival, wait and talk are those of its first draw
    (``times``): a call's times do not change from one snapshot to the next."""
    arrived, wait, talk = times
    s = dataclasses.replace(s, wait=wait, talk=talk)
    iid = f"i{s.which}"
    base = InteractionRecord(
        interaction_id=iid,
        seq=s.seq,
        queue=s.queue,
        priority=5,
        caller=s.caller,
        arrived_at=arrived,
        customer_id=s.customer,
        linkedid=s.link,
        uniqueid=f"1700000000.{iid}",
        sla_threshold_seconds=20.0,
    )
    if s.stage == "waiting":
        return base
    if s.stage in ("abandoned", "overflowed", "failed", "moved"):
        return dataclasses.replace(base, ended_at=arrived + s.wait, outcome=s.stage, wait_seconds=s.wait)  # type: ignore[arg-type]
    answered = dataclasses.replace(base, answered_at=arrived + s.wait, wait_seconds=s.wait, agent_id="a-1")
    if s.stage == "talking":
        return answered
    ended = dataclasses.replace(
        answered,
        ended_at=arrived + s.wait + s.talk,
        talk_seconds=s.talk,
        outcome="moved" if s.stage == "transferred" else "answered",
        notes="a note the ledger need not keep",
    )
    if s.stage == "wrapping":
        return ended
    return dataclasses.replace(ended, wrapup_seconds=10.0, disposition=s.disposition)


def _same(a: list[Verdict], b: list[Verdict]) -> bool:
    return Counter(a) == Counter(b)


traffic = given(st.lists(snapshot, max_size=12), st.lists(step, min_size=40, max_size=120))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@traffic
def test_the_ledger_settles_what_the_scanning_ledger_settled(
    seeded: list[Snap], steps: list[Snap | Tick | Reconfigure]
) -> None:
    """``seeded``: what a previous run left, taken back at start; then the traffic."""
    _agree(seeded, steps)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@traffic
def test_the_same_with_the_heaps_rebuilt_whenever_an_entry_is_left_behind(
    seeded: list[Snap], steps: list[Snap | Tick | Reconfigure]
) -> None:
    """The settling heaps are rebuilt once entries left behind (calls settled by a snapshot, replaced by a
    later one) are many; here at the first one, so every path through a rebuild is taken."""
    kept = otf._COMPACT_AT, otf._COMPACT_SHARE
    otf._COMPACT_AT, otf._COMPACT_SHARE = 0, 0.0
    try:
        _agree(seeded, steps)
    finally:
        otf._COMPACT_AT, otf._COMPACT_SHARE = kept


def _agree(seeded: list[Snap], steps: list[Snap | Tick | Reconfigure]) -> None:
    now = 10_000.0
    times: dict[int, tuple[float, float, float]] = {}
    handled: dict[int, str] = {}  # a handled call stays handled: its later snapshots name a disposition, a customer
    old = ScanLedger(BEFORE, 5.0)
    new = OtfLedger(BEFORE, 5.0)

    def record_of(s: Snap) -> InteractionRecord:
        s = dataclasses.replace(s, stage=handled.get(s.which, s.stage))
        r = _record(times.setdefault(s.which, (now, s.wait, s.talk)), s)
        if otf._handled(r):
            handled[s.which] = s.stage
        return r

    latest = {r.interaction_id: r for r in sorted(map(record_of, seeded), key=lambda r: r.seq)}
    assert old.seed(latest.values(), now) == new.seed(latest.values(), now)
    for s in steps:
        if isinstance(s, Snap):
            now += s.later
            r = record_of(s)
            if r.interaction_id not in old._open and otf._late(r, now, new._since or now):
                assert new.observe(r, now) == [], r  # judged already: dropped, not held
                assert new.pending() == old.pending()
                continue
            got, want = new.observe(r, now), old.observe(r, now)
        elif isinstance(s, Tick):
            now += s.later
            got, want = new.settle(now), old.settle(now)
        else:
            old.queues = new.queues = AFTER
            old.short_abandon_seconds = new.short_abandon_seconds = 3.0
            continue
        assert _same(got, want), (s, got, want)
        assert new.pending() == old.pending()
    now += 100_000.0
    assert _same(new.settle(now), old.settle(now))
    assert new.pending() == old.pending()
