"""When the core fails on a bug, the events that led there are dumped and replay to the same failure."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from doubles import ListSink, MockControl, keep_rings

from acd.core.acd import Acd
from acd.core.commands import Command, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement, WideningStep
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReachability,
    CallArrived,
    CallEnded,
    CallInProgress,
    CallLeftUnseen,
    ConfigChanged,
    Customer,
    Event,
    OfferAnswered,
    OfferFailed,
    ResyncFinished,
    TimerFired,
)
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState
from acd.core.timers import call_timer
from acd.metrics import Metrics
from acd.runtime import Runtime
from acd.stimulus import Dump, StimulusLog, decode, dump_lines, encode, read_dump, replay

CONFIG = RoutingConfig(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 1),),
            widening=(WideningStep(30.0, 1, (SkillRequirement("sales", 2),)),),
        ),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def test_every_kind_of_event_survives_the_codec() -> None:
    call = CallArrived(
        "c1",
        "billing",
        5,
        caller="5550001",
        enqueued_at=99.5,
        channel="PJSIP/t-1",
        uniqueid="1.1",
        linkedid="1.1",
        customer=Customer("k1", "Ada", "gold"),
    )
    record = InteractionRecord("c1", 3, "billing", 5, "5550001", 99.5, answered_at=101.0, within_sla=True)
    events: list[Event] = [
        call,
        CallInProgress(call, "a1", 101.0, record),
        CallLeftUnseen(call, 120.0, "abandoned", "hangup"),
        OfferFailed("o1", OfferFailed.NOT_STARTED),
        CallEnded("c1", ended_at=None),
        AgentPaused("a1", "lunch"),
        AgentReachability("a1", False, busy_elsewhere=True),
        ResyncFinished(),
        ConfigChanged(CONFIG),
        TimerFired(call_timer("c1")),
    ]
    assert [decode(encode(e)) for e in events] == events
    empty = read_dump(dump_lines(StimulusLog(CONFIG).snapshot()))
    assert empty.config == CONFIG and empty.stimuli == ()
    odd = decode(encode(CallArrived("c2", "billing", 5, enqueued_at=math.nan)))
    assert isinstance(odd, CallArrived) and odd.enqueued_at is not None and math.isnan(odd.enqueued_at)


def test_the_log_keeps_only_the_last_events_and_says_how_many_it_let_go() -> None:
    log = StimulusLog(CONFIG, capacity=3)
    for n in range(5):
        log.record(TimerFired(call_timer(f"c{n}")), float(n))
    dump = log.snapshot()
    assert [now for _, now in dump.stimuli] == [2.0, 3.0, 4.0] and dump.dropped == 2


def test_a_config_change_pushed_out_of_the_log_becomes_its_starting_config() -> None:
    later = dataclasses.replace(CONFIG, agents=())
    log = StimulusLog(CONFIG, capacity=2)
    log.record(ConfigChanged(later), 1.0)
    log.record(TimerFired(call_timer("c1")), 2.0)
    assert log.snapshot().config == CONFIG  # the change is still in the log: replay makes it
    log.record(TimerFired(call_timer("c2")), 3.0)
    assert log.snapshot().config == later


def buggy(original: object) -> object:
    """A bug planted in the core for this test: it fails once a1 talks while two callers wait."""

    def handle(self: Acd, event: Event, now: float) -> list[Command]:
        commands = original(self, event, now)  # type: ignore[operator]
        if self.agent_state("a1") is AgentState.ON_CALL and len(self.queued_calls(now)) == 2:
            raise ZeroDivisionError("planted")
        return commands  # type: ignore[no-any-return]

    return handle


def modes(directory: Path) -> list[int]:
    return [path.stat().st_mode & 0o777 for path in sorted(directory.iterdir())]


def dumps(directory: Path) -> list[Dump]:
    return [read_dump(path.read_text().splitlines()) for path in sorted(directory.iterdir())]


async def test_a_failure_of_the_core_is_dumped_and_replays_to_the_same_failure(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rings: list[RingAgent] = []
    clock = [1000.0]
    stimuli = StimulusLog(CONFIG, directory=tmp_path)
    runtime = Runtime(
        Acd(CONFIG),
        MockControl(keep_rings(rings)),
        ListSink(),
        Metrics(CONFIG.queues),
        clock=lambda: clock[0],
        stimuli=stimuli,
    )
    monkeypatch.setattr(Acd, "handle", buggy(Acd.handle))
    runtime.handle_now(AgentLoggedIn("a1"))
    runtime.handle_now(AgentLoggedIn("nobody"))  # refused: replayed and refused again
    runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/t-1"))
    clock[0] = 1003.25
    runtime.handle_now(OfferAnswered(rings[0].offer_id))
    runtime.handle_now(CallArrived("c2", "billing", 5, channel="PJSIP/t-2"))
    assert dumps(tmp_path) == []
    clock[0] = 1010.0
    runtime.handle_now(CallArrived("c3", "billing", 7, channel="PJSIP/t-3"))  # the core fails here
    assert runtime.refused == 2

    [dump] = dumps(tmp_path)
    assert modes(tmp_path) == [0o600]  # it carries callers' numbers, like the journal
    assert dump.config == CONFIG and dump.dropped == 0
    assert [type(e).__name__ for e, _ in dump.stimuli] == [
        "AgentLoggedIn",
        "AgentLoggedIn",
        "CallArrived",
        "OfferAnswered",
        "CallArrived",
        "CallArrived",
    ]
    assert dump.stimuli[-1] == (CallArrived("c3", "billing", 7, channel="PJSIP/t-3"), 1010.0)
    with pytest.raises(ZeroDivisionError, match="planted"):
        replay(dump)
    monkeypatch.undo()
    assert replay(dump).agent_state("a1") is AgentState.ON_CALL  # without the bug, the same events pass
