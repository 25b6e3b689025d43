"""``MonitorRequested``: a supervisor joins a conversation. The core checks it (a call that is
talking, in a queue the requester may monitor) and hands call control one ``MonitorCall``; neither
the call nor the agent moves, and nothing is recorded."""

from __future__ import annotations

import json

import pytest
from core_builders import Driver, agent, config, queue

from acd.core.commands import MonitorCall
from acd.core.errors import InvalidTransition, InvalidValue, OutOfScope, UnknownAgent, UnknownCall
from acd.core.events import MonitorRequested
from acd.core.states import AgentState, CallState
from acd.stimulus import decode, encode

CFG = config([queue("billing", {"billing": 1}), queue("sales", {"sales": 1})], [agent("a1", {"billing": 3})])


def talking() -> Driver:
    d = Driver.of(CFG)
    d.login("a1")
    d.arrive("c1", 0.0, queue="billing")
    d.answer("c1", 2.0)
    return d


def test_a_talking_call_is_handed_to_call_control_and_nothing_moves() -> None:
    d = talking()
    before = d.acd.snapshot(3.0)
    commands = d.send(MonitorRequested("sup1", "listen", call_id="c1", queues=("billing",)), 3.0)
    assert commands == [MonitorCall("c1", "a1", "PJSIP/a1", "sup1", "listen")]
    assert d.acd.agent_state("a1") is AgentState.ON_CALL
    assert d.acd.snapshot(3.0) == before


def test_by_agent_from_a_supervisors_phone() -> None:
    d = talking()
    commands = d.send(MonitorRequested("sup1", "whisper", agent_id="a1", supervisor_channel="PJSIP/sup1-0000000a"), 3.0)
    assert commands == [MonitorCall("c1", "a1", "PJSIP/a1", "sup1", "whisper", "PJSIP/sup1-0000000a")]


def test_refusals() -> None:
    d = talking()
    with pytest.raises(OutOfScope):
        d.send(MonitorRequested("sup1", "listen", call_id="c1", queues=("sales",)), 3.0)
    with pytest.raises(UnknownCall):
        d.send(MonitorRequested("sup1", "listen", call_id="nope"), 3.0)
    with pytest.raises(UnknownAgent):
        d.send(MonitorRequested("sup1", "listen", agent_id="nobody"), 3.0)
    with pytest.raises(InvalidValue):
        d.send(MonitorRequested("sup1", "listen"), 3.0)
    d.arrive("c2", 3.0, queue="billing")  # waits: a1 is busy
    with pytest.raises(InvalidTransition) as refused:
        d.send(MonitorRequested("sup1", "barge", call_id="c2"), 3.5)
    assert refused.value.state == CallState.WAITING.value
    d.end("c1", 4.0)
    with pytest.raises(InvalidTransition):
        d.send(MonitorRequested("sup1", "listen", call_id="c1"), 4.5)
    with pytest.raises(InvalidTransition):  # a1 is in wrap-up or ringing again, not talking
        d.send(MonitorRequested("sup1", "listen", agent_id="a1"), 4.5)


def test_the_request_survives_a_stimulus_dump() -> None:
    """A core failure dumps the events that led to it (acd.stimulus): this one too, and reads back equal."""
    event = MonitorRequested("sup1", "barge", agent_id="a1", queues=("billing",), supervisor_channel="PJSIP/s-1")
    assert decode(json.loads(json.dumps(encode(event)))) == event


def test_a_phone_joins_only_a_call_on_its_own_pbx() -> None:
    # several PBXs: ChanSpy on the phone's PBX cannot reach the agent's leg on another (docs/pbxs.md)
    d = talking()  # the call is on the one PBX, "pbx"
    with pytest.raises(InvalidValue):
        d.send(MonitorRequested("sup1", "listen", agent_id="a1", supervisor_channel="PJSIP/sup1-1", pbx="pbx2"), 3.0)
    commands = d.send(
        MonitorRequested("sup1", "listen", agent_id="a1", supervisor_channel="PJSIP/sup1-1", pbx="pbx"), 3.0
    )
    assert commands == [MonitorCall("c1", "a1", "PJSIP/a1", "sup1", "listen", "PJSIP/sup1-1", "pbx")]
