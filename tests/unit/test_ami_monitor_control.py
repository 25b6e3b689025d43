"""``MonitorCall`` over AMI: the agent's leg is the caller's BRIDGEPEER, read at that moment and
checked to be a leg of the call's agent before a supervisor's phone is rung (or, when it asked by
feature code, before its waiting channel is sent into ``acd-monitor``)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

import pytest

from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.wire import ActionValue, Message
from acd.core.commands import MonitorCall
from acd.ports import NotCarriedOut


class Link:
    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.sent: list[Mapping[str, ActionValue]] = []

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        self.sent.append(action)
        return Message({"Response": "Success", "Value": self.peer} if action["Action"] == "Getvar" else {})

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        return self.send(action, timeout)


class Originator:
    def __init__(self) -> None:
        self.rung: list[tuple[str, str, str]] = []

    async def originate(self, supervisor: str, mode: str, spied: str) -> None:
        self.rung.append((supervisor, mode, spied))


def control(peer: str) -> tuple[AmiCallControl, Link, Originator]:
    link, originator = Link(peer), Originator()
    ami = AmiCallControl(link, originator=originator)  # type: ignore[arg-type]
    ami.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-00000001", "billing", 5))
    return ami, link, originator


async def test_the_supervisor_is_rung_to_spy_on_the_agents_leg() -> None:
    ami, link, originator = control("PJSIP/agent1-0000000b")
    await ami.send(MonitorCall("c1", "a1", "agent1", "supervisor1", "listen"))
    assert link.sent == [{"Action": "Getvar", "Channel": "PJSIP/trunk-00000001", "Variable": "BRIDGEPEER"}]
    assert originator.rung == [("supervisor1", "listen", "PJSIP/agent1-0000000b")]


async def test_a_waiting_phone_is_sent_into_acd_monitor() -> None:
    ami, link, originator = control("PJSIP/agent1-0000000b")
    await ami.send(MonitorCall("c1", "a1", "agent1", "supervisor1", "barge", "PJSIP/supervisor1-0000000c"))
    assert link.sent[1:] == [
        {
            "Action": "Setvar",
            "Channel": "PJSIP/supervisor1-0000000c",
            "Variable": "ACD_SPY",
            "Value": "PJSIP/agent1-0000000b",
        },
        {
            "Action": "Redirect",
            "Channel": "PJSIP/supervisor1-0000000c",
            "Context": "acd-monitor",
            "Exten": "barge",
            "Priority": "1",
        },
    ]
    assert originator.rung == []


@pytest.mark.parametrize("peer", ["PJSIP/agent2-0000000b", "", "Local/x@y-00000001;1", "PJSIP/agent1-0000000b&PJSIP/x"])
async def test_a_bridge_peer_that_is_not_the_agents_leg_rings_nobody(peer: str) -> None:
    ami, _, originator = control(peer)
    with pytest.raises(NotCarriedOut):
        await ami.send(MonitorCall("c1", "a1", "agent1", "supervisor1", "whisper"))
    assert originator.rung == []


async def test_a_phone_channel_of_another_endpoint_is_not_moved() -> None:
    ami, link, _ = control("PJSIP/agent1-0000000b")
    with pytest.raises(NotCarriedOut):
        await ami.send(MonitorCall("c1", "a1", "agent1", "supervisor1", "listen", "PJSIP/supervisor2-0000000c"))
    assert [a["Action"] for a in link.sent] == ["Getvar"]
