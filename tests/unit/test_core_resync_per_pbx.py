"""A resync is scoped to its PBX (docs/pbxs.md, "Resync is scoped").

With several PBXs, ``ResyncStarted``/``ResyncFinished`` name the PBX being resynced. Until its
``ResyncFinished`` none of that PBX's calls is matched, so its picture is routed as one, by priority;
the calls of the other PBXs go on being routed, and nothing of theirs is touched by it. Two resyncs
under way at once end each on its own ``ResyncFinished``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core_builders import Driver, agent, config, queue
from hypothesis import given
from hypothesis import strategies as st

from acd.core.commands import RingAgent
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallerHungUp,
    CallInProgress,
    CallTransferred,
    ResyncFinished,
    ResyncStarted,
)
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState, CallState

CFG = config([queue("q", sla_threshold_seconds=20.0, max_wait_seconds=600.0)], [agent(f"a{i}") for i in range(1, 7)])


def _rings(out: Sequence[object]) -> list[str]:
    return [c.call_id for c in out if isinstance(c, RingAgent)]


def test_a_caller_on_another_pbx_is_routed_while_one_pbx_resyncs() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(ResyncStarted("b"), 1000.0)
    assert _rings(d.send(CallArrived("b1", "q", 5, enqueued_at=990.0, pbx="b"), 1000.0)) == []
    # a caller on A, arriving while B resyncs, is rung at once
    assert _rings(d.send(CallArrived("a1", "q", 5, pbx="a"), 1001.0)) == ["a1"]
    assert _rings(d.send(ResyncFinished("b"), 1001.0)) == []  # the one agent is taken
    assert d.acd.call_state("b1") is CallState.WAITING


def test_a_pbx_s_callers_are_held_until_its_own_resync_ends() -> None:
    d = Driver.of(CFG)
    d.login("a1", "a2", "a3")
    d.send(ResyncStarted("a"), 1000.0)
    d.send(ResyncStarted("b"), 1000.0)
    d.send(CallArrived("a1", "q", 5, enqueued_at=950.0, pbx="a"), 1000.0)
    d.send(CallArrived("b1", "q", 9, enqueued_at=900.0, pbx="b"), 1000.0)
    # A's resync ends first: its caller is rung; B's stays held though it came first in routing order
    assert _rings(d.send(ResyncFinished("a"), 1000.0)) == ["a1"]
    assert d.acd.call_state("b1") is CallState.WAITING
    assert _rings(d.send(ResyncFinished("b"), 1000.0)) == ["b1"]


def test_an_agent_free_during_b_s_resync_takes_a_caller_of_a_not_one_of_b() -> None:
    d = Driver.of(CFG)
    d.send(CallArrived("b-first", "q", 9, pbx="b"), 990.0)  # first in routing order
    d.send(CallArrived("a-second", "q", 1, pbx="a"), 995.0)
    d.send(ResyncStarted("b"), 1000.0)
    d.login("a1", now=1000.0)
    assert d.agent_ringing("a-second") == "a1"
    assert d.agent_ringing("b-first") is None
    d.login("a2", now=1000.0)  # B still resyncing: its caller waits for the picture
    assert d.agent_ringing("b-first") is None
    d.send(ResyncFinished("b"), 1000.0)
    assert d.agent_ringing("b-first") == "a2"


def test_a_resync_of_one_pbx_leaves_the_other_pbx_s_callers_as_they_are() -> None:
    d = Driver.of(config([queue("q", max_wait_seconds=600.0)], [agent("a1")]))
    d.send(CallArrived("a-holding", "q", 5, pbx="a"), 990.0)
    d.send(CallArrived("b-gone", "q", 5, pbx="b"), 991.0)
    # B reconnects: its picture says its caller is gone; A's caller is not in B's picture, and stays
    d.send(ResyncStarted("b"), 1000.0)
    d.send(CallerHungUp("b-gone"), 1000.0)
    d.send(ResyncFinished("b"), 1000.0)
    assert d.acd.call_state("a-holding") is CallState.WAITING
    assert d.acd.call_state("b-gone") is None
    d.login("a1", now=1001.0)
    assert d.agent_ringing("a-holding") == "a1"


def test_the_longer_waiting_caller_on_the_other_pbx_is_answered_first() -> None:
    d = Driver.of(CFG)
    d.send(CallArrived("b-old", "q", 5, pbx="b"), 1000.0)
    d.send(CallArrived("a-new", "q", 5, pbx="a"), 1010.0)
    d.login("a1", now=1020.0)
    assert d.agent_ringing("b-old") == "a1"
    assert d.agent_ringing("a-new") is None


# a step: ("a", n) a caller arrives on A at priority n; ("b", n) one on B; ("login", n) an agent logs in
step = st.tuples(st.sampled_from(["a", "b", "login"]), st.integers(0, 5))


def _free_while_waiting(d: Driver, calls: list[str], agents: int, prefix: str = "") -> bool:
    """Whether a caller (of the PBX named by ``prefix``) waits while an agent is ready."""
    waiting = [c for c in calls if c.startswith(prefix) and d.acd.call_state(c) is CallState.WAITING]
    ready = [a for a in range(1, agents + 1) if d.acd.agent_state(f"a{a}") is AgentState.READY]
    return bool(waiting and ready)


@given(st.lists(step, max_size=30), st.integers(0, 30), st.integers(0, 30))
def test_while_b_resyncs_only_a_s_callers_are_rung_and_at_its_end_the_floor_is_matched(
    steps: list[tuple[str, int]], start: int, length: int
) -> None:
    d = Driver.of(CFG)
    now = 1000.0
    held_from, held_to = min(start, len(steps)), min(start + length, len(steps))
    agents = 0
    calls: list[str] = []
    for i, (kind, n) in enumerate(steps):
        if i == held_from and held_to > held_from:
            d.send(ResyncStarted("b"), now)
        if i == held_to and held_to > held_from:
            d.send(ResyncFinished("b"), now)
        now += 1.0
        if kind == "login":
            if agents < 6:
                agents += 1
                out = d.send(AgentLoggedIn(f"a{agents}"), now)
            else:
                continue
        else:
            calls.append(f"{kind}{i}")
            out = d.send(CallArrived(f"{kind}{i}", "q", n, pbx=kind), now)
        if held_from <= i < held_to:
            # no B caller is rung while B resyncs; an A caller waits only while no agent is ready
            assert not [c for c in _rings(out) if c.startswith("b")]
            assert not _free_while_waiting(d, calls, agents, "a")
        else:
            assert not _free_while_waiting(d, calls, agents)
    if held_to >= len(steps) and held_from < held_to:
        d.send(ResyncFinished("b"), now)
    # the resync over, no caller of either PBX waits while an agent is ready
    assert not _free_while_waiting(d, calls, agents)


def test_at_a_start_no_caller_is_matched_until_every_pbx_s_first_resync_ends() -> None:
    # the agents come back ready from the records; a1 is really talking on B, not resynced yet
    d = Driver.of(CFG)
    d.acd.hold_start(["a", "b"])
    d.login("a1", now=1000.0)
    d.send(ResyncStarted("a"), 1000.0)
    d.send(CallArrived("a-wait", "q", 5, enqueued_at=990.0, pbx="a"), 1000.0)
    assert _rings(d.send(ResyncFinished("a"), 1000.0)) == []  # B's first resync is pending
    assert _rings(d.send(CallArrived("a-new", "q", 5, pbx="a"), 1001.0)) == []
    d.send(ResyncStarted("b"), 1002.0)
    d.send(CallInProgress(CallArrived("b-talk", "q", 5, enqueued_at=950.0, pbx="b"), "a1", 960.0), 1002.0)
    d.send(ResyncFinished("b"), 1002.0)
    assert d.acd.call_state("b-talk") is CallState.CONNECTED
    assert d.acd.call_state("a-wait") is CallState.WAITING
    d.login("a2", now=1003.0)
    assert d.agent_ringing("a-wait") == "a2"


def test_a_pbx_released_without_a_resync_lets_the_others_be_routed() -> None:
    d = Driver.of(CFG)
    d.acd.hold_start(["a", "b"])
    d.login("a1", now=1000.0)
    d.send(ResyncStarted("a"), 1000.0)
    d.send(CallArrived("a-wait", "q", 5, pbx="a"), 1000.0)
    assert _rings(d.send(ResyncFinished("a"), 1000.0)) == []
    assert _rings(d.send(ResyncFinished("b"), 1010.0)) == ["a-wait"]  # B's deadline passed


def test_a_call_taken_over_from_its_record_stays_on_its_pbx() -> None:
    # resumed from the previous run's record, the call is still B's: transferred back into a queue
    # during B's next resync, it waits for that resync's end
    d = Driver.of(CFG)
    d.login("a1", "a2", now=1000.0)
    record = InteractionRecord(
        "b-talk", 1, "q", 5, "5551234", 950.0, uniqueid="b-950.1", answered_at=960.0, agent_id="a1"
    )
    d.send(
        CallInProgress(CallArrived("b-talk", "q", 5, enqueued_at=950.0, pbx="b"), "a1", 960.0, record=record), 1000.0
    )
    d.send(ResyncStarted("b"), 1001.0)
    assert _rings(d.send(CallTransferred("b-talk", "a1", "q"), 1001.0)) == []
    assert d.acd.call_state("b-talk") is CallState.WAITING
    assert _rings(d.send(ResyncFinished("b"), 1002.0)) == ["b-talk"]
