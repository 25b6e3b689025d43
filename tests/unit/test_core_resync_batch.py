"""A resync is loaded whole, then routed once: priority and order as if the ACD had never stopped.

A restarted ACD re-announces every caller it finds holding. Routed one by one, the first caller
loaded (the longest waiting, whatever their priority) would take the first free agent; between
``ResyncStarted`` and ``ResyncFinished`` the core routes nothing, and at the end it offers the free
agents to the callers in routing order: higher priority first, then the longest wait.
"""

from __future__ import annotations

from core_builders import Driver, agent, config, queue
from hypothesis import given
from hypothesis import strategies as st

from acd.core.commands import RingAgent
from acd.core.events import AgentLoggedIn, CallArrived, ResyncFinished, ResyncStarted

CFG = config([queue("q", sla_threshold_seconds=20.0, max_wait_seconds=600.0)], [agent("a1"), agent("a2"), agent("a3")])


def _resync(driver: Driver, callers: list[tuple[str, int, float]], now: float) -> list[RingAgent]:
    """Load ``(call id, priority, enqueued at)`` in the order given (the resync's: by enqueue time)."""
    mark = len(driver.log)
    driver.send(ResyncStarted(), now)
    for call_id, priority, enqueued_at in callers:
        driver.send(CallArrived(call_id, "q", priority, enqueued_at=enqueued_at), now)
    driver.send(ResyncFinished(), now)
    return [c for c in driver.log[mark:] if isinstance(c, RingAgent)]


def test_higher_priority_callers_found_by_a_resync_are_rung_first() -> None:
    d = Driver.of(CFG)
    d.login("a1", "a2")
    callers = [("p5-old", 5, 900.0), ("p5-mid", 5, 910.0), ("p9-a", 9, 920.0), ("p5-new", 5, 930.0), ("p9-b", 9, 940.0)]
    rings = _resync(d, callers, 1000.0)
    assert [r.call_id for r in rings] == ["p9-a", "p9-b"]


def test_nothing_is_rung_until_the_resync_is_finished() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(ResyncStarted(), 1000.0)
    assert [c for c in d.send(CallArrived("c1", "q", 5, enqueued_at=990.0), 1000.0) if isinstance(c, RingAgent)] == []
    assert [c for c in d.send(AgentLoggedIn("a2"), 1000.0) if isinstance(c, RingAgent)] == []
    rings = [c for c in d.send(ResyncFinished(), 1000.0) if isinstance(c, RingAgent)]
    assert [r.call_id for r in rings] == ["c1"]
    # and afterwards every event routes again at once
    rings = [c for c in d.send(CallArrived("c2", "q", 5), 1001.0) if isinstance(c, RingAgent)]
    assert [r.call_id for r in rings] == ["c2"]


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 500)), min_size=1, max_size=12), st.integers(1, 3))
def test_the_order_of_offers_after_a_resync_is_the_routing_order(found: list[tuple[int, int]], free: int) -> None:
    d = Driver.of(CFG)
    d.login(*[f"a{i}" for i in range(1, free + 1)])
    callers = [(f"c{i:02d}", prio, 500.0 + ago) for i, (prio, ago) in enumerate(found)]
    loaded = sorted(callers, key=lambda c: (c[2], c[0]))  # the resync loads by enqueue time
    rings = _resync(d, loaded, 1000.0)
    # the same order a core that never stopped would use: priority, SLA deadline, wait, id
    expected = sorted(callers, key=lambda c: (-c[1], c[2] + 20.0, c[2], c[0]))[:free]
    assert [r.call_id for r in rings] == [c[0] for c in expected]
