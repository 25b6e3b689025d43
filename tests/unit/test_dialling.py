"""Only plain names reach the PBX's Dial and Redirect (acd.dialling): the config refuses the rest, and
call control refuses it again before a Redirect is written, whatever let it into the config."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

import pytest

from acd.ami.control import AmiCallControl
from acd.ami.roster import Roster
from acd.ami.wire import ActionValue, Message
from acd.core.config import AgentConfig, RoutingConfig
from acd.dialling import NotDialable, bare_endpoint, is_endpoint, is_overflow_extension

HOSTILE_ENDPOINTS = [
    "agent1&PJSIP/+19005550100@carrier",  # rings an outside number beside the agent
    "agent1,1,L(1000)",  # Dial options
    "agent1/sip:x@evil",
    "agent1@carrier",
    "agent 1",
    "agent1\x00",
    "_X.",  # a pattern to Asterisk
    "-agent",
    "a",  # acd-connect answers _[0-9A-Za-z]. only: two characters at least
    "x" * 65,
    "",
    "ägent1",
]


@pytest.mark.parametrize("name", HOSTILE_ENDPOINTS)
def test_a_hostile_endpoint_is_not_an_endpoint(name: str) -> None:
    assert not is_endpoint(name)
    assert not is_endpoint(bare_endpoint(name))


@pytest.mark.parametrize(
    ("given", "bare"),
    [
        ("agent1", "agent1"),
        ("PJSIP/agent1", "agent1"),
        ("pjsip/agent1", "agent1"),
        ("desk-7.b_2", "desk-7.b_2"),
        ("SIP/agent1", "SIP/agent1"),
        ("PJSIP/PJSIP/agent1", "PJSIP/agent1"),
    ],
)
def test_one_normal_form_for_an_endpoint(given: str, bare: str) -> None:
    assert bare_endpoint(given) == bare
    assert is_endpoint(bare) == ("/" not in bare)


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("voicemail", True),
        ("fallback", True),
        ("operator-2", True),
        ("i", False),
        ("h", False),
        ("_X.", False),
        ("voicemail,1", False),
        ("vm&x", False),
        ("", False),
    ],
)
def test_overflow_extensions(name: str, plain: bool) -> None:
    assert is_overflow_extension(name) is plain


class RecordingLink:
    """The AMI link as call control sees it: every action written, each answered with Success."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, ActionValue]] = []

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        self.sent.append(action)
        reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        reply.set_result(Message({"Response": "Success"}))
        return reply

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        return await self.submit(action, timeout)


@pytest.mark.parametrize("endpoint", HOSTILE_ENDPOINTS)
async def test_call_control_writes_no_ring_to_a_hostile_endpoint(endpoint: str) -> None:
    link = RecordingLink()
    control = AmiCallControl(link)  # type: ignore[arg-type]
    with pytest.raises(NotDialable):
        control.ring("PJSIP/trunk-1", "offer-1", endpoint, 15)
    assert link.sent == []
    assert len(control.confirmations) == 0


async def test_call_control_rings_a_plain_endpoint() -> None:
    link = RecordingLink()
    control = AmiCallControl(link)  # type: ignore[arg-type]
    await control.ring("PJSIP/trunk-1", "offer-1", "agent1", 15)
    assert link.sent[-1] == {
        "Action": "Redirect",
        "Channel": "PJSIP/trunk-1",
        "Context": "acd-connect",
        "Exten": "agent1",
        "Priority": "1",
    }
    control.link_down()


@pytest.mark.parametrize("target", ["voicemail,1", "i", "_X.", "vm&PJSIP/x", ""])
async def test_call_control_writes_no_overflow_to_a_hostile_target(target: str) -> None:
    link = RecordingLink()
    control = AmiCallControl(link)  # type: ignore[arg-type]
    with pytest.raises(NotDialable):
        control.overflow("PJSIP/trunk-1", target)
    assert link.sent == []


def test_the_roster_knows_an_agent_by_either_spelling() -> None:
    roster = Roster(RoutingConfig(queues=(), agents=(AgentConfig("a2", "agent2", ()),)))
    assert roster.agent_for("PJSIP/agent2") == roster.agent_for("agent2") == "a2"
