"""What a member does with the lease's notifications (docs/standby.md, "A planned handover"): a release
wakes a standby, never a leader; a handover request is acted on only by the leader it names, in the
epoch it names (a request for an older term cannot hand over a newer one)."""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.leadership import CHANNEL, Leadership


def member(clock: list[float]) -> tuple[Leadership, list[int]]:
    asked: list[int] = []
    leadership = Leadership(cast(AsyncEngine, None), "host-a:8080", clock=lambda: clock[0])
    leadership.on_handover = asked.append
    return leadership, asked


def test_a_release_wakes_a_standby_and_not_a_leader() -> None:
    clock = [100.0]
    standby, _ = member(clock)
    standby._heard(None, 1, CHANNEL, "released:host-b:8080:7")
    assert standby._wake.is_set()
    leader, _ = member(clock)
    leader.lease.won(8, clock[0])
    leader._heard(None, 1, CHANNEL, "released:host-b:8080:7")
    assert not leader._wake.is_set()


def test_a_handover_request_is_for_the_leader_and_the_epoch_it_names() -> None:
    clock = [100.0]
    leader, asked = member(clock)
    leader.lease.won(8, clock[0])
    for payload in (
        "handover:host-b:8080:8",  # another member
        "handover:host-a:8080:7",  # an older term
        "handover:host-a:8080:",  # no epoch
        "handover:host-a:8080:x",
        "nonsense",
    ):
        leader._heard(None, 1, CHANNEL, payload)
    assert asked == []
    leader._heard(None, 1, CHANNEL, "handover:host-a:8080:8")  # the instance's name holds a colon
    assert asked == [8]


def test_a_standby_named_by_a_handover_request_does_nothing() -> None:
    standby, asked = member([100.0])
    standby._heard(None, 1, CHANNEL, "handover:host-a:8080:0")
    assert asked == []


def test_only_a_leader_that_saw_a_standby_may_hand_over() -> None:
    clock = [100.0]
    alone, _ = member(clock)
    alone.lease.won(3, clock[0], alone=True)
    assert alone.may_act() and not alone.may_hand_over()
    paired, _ = member(clock)
    paired.lease.won(3, clock[0], alone=False)
    assert paired.may_hand_over()
    clock[0] += paired.times.step_down_after  # past its deadline: it no longer leads
    assert not paired.may_hand_over()
