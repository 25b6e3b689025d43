"""The AMI call control carries out core commands on the caller's channel, which it finds in the
translator's book of caller legs (from the enqueue until the Hangup)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

import pytest

import acd.ami.control
from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.errors import AmiActionError
from acd.ami.wire import ActionValue, Message
from acd.core.commands import CancelOffer, OverflowCall, RingAgent, TagCall
from acd.ports import NotCarriedOut


class Link:
    """The AMI link as call control sees it: every action kept; refused with ``refuse`` if set."""

    def __init__(self, refuse: str = "") -> None:
        self.sent: list[Mapping[str, ActionValue]] = []
        self.refuse = refuse

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        self.sent.append(action)
        return self._reply(str(action.get("Action")))

    async def _reply(self, action: str) -> Message:
        if self.refuse:
            raise AmiActionError(action, {"Response": "Error", "Message": self.refuse})
        return Message({"Response": "Success"})

    def redirects(self) -> list[tuple[str, str, str]]:
        return [(str(a["Channel"]), str(a["Context"]), str(a["Exten"])) for a in self.sent if a["Action"] == "Redirect"]


def control_with_caller(link: Link) -> AmiCallControl:
    control = AmiCallControl(link)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    return control


RING = RingAgent("o2", "c1", "a2", "agent2", 15.0)
CANCEL = CancelOffer("o1", "c1", "a1")


async def test_each_command_goes_to_the_callers_channel() -> None:
    link = Link()
    control = control_with_caller(link)
    for command in (RING, CANCEL, OverflowCall("c1", "voicemail"), TagCall("c1", "billing", 8, 100.0)):
        await control.send(command)
    assert link.redirects() == [
        ("PJSIP/trunk-1", "acd-connect", "agent2"),
        ("PJSIP/trunk-1", "acd-hold", "s"),
        ("PJSIP/trunk-1", "acd-overflow", "voicemail"),
    ]
    assert {str(a["Channel"]) for a in link.sent} == {"PJSIP/trunk-1"}
    assert control.channel_of("c1") == "PJSIP/trunk-1"
    control.link_down()


async def test_a_cancel_followed_by_a_new_offer_for_the_same_call_sends_one_redirect() -> None:
    """The new Redirect ends the old Dial; a second one at once would be refused by Asterisk."""
    link = Link()
    control = control_with_caller(link)
    await control.send(CANCEL, [RING])
    await control.send(RING)
    assert link.redirects() == [("PJSIP/trunk-1", "acd-connect", "agent2")]
    await control.send(CANCEL, [RingAgent("o3", "c2", "a2", "agent2", 15.0)])  # another caller's ring
    assert link.redirects()[-1] == ("PJSIP/trunk-1", "acd-hold", "s")
    control.link_down()


async def test_a_call_the_book_no_longer_holds_has_no_channel() -> None:
    link = Link()
    control = control_with_caller(link)
    control.book.remove("1.1")  # its Hangup
    assert control.channel_of("c1") is None
    with pytest.raises(NotCarriedOut, match=r"^no channel$"):
        control.send(RING)
    await control.send(CANCEL)  # a hung-up caller's Dial ended with them: nothing to stop
    assert link.sent == []


async def test_a_refused_ring_says_why_and_a_gone_channel_gets_no_more_rings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acd.ami.control, "CHANNEL_GONE_GRACE", 0.01)
    link = Link(refuse="No such channel")
    control = control_with_caller(link)
    gone: list[str] = []
    control.on_channel_gone = gone.append
    with pytest.raises(NotCarriedOut, match=r"^ami: Setvar: No such channel$"):
        await control.send(RING)
    with pytest.raises(NotCarriedOut, match=r"^no such channel$"):
        control.send(RingAgent("o3", "c1", "a1", "agent1", 15.0))
    assert len(link.redirects()) == 1
    await asyncio.sleep(0.05)
    assert gone == ["c1"]  # no Hangup came within the grace


async def test_a_gone_caller_whose_hangup_comes_in_the_grace_is_left_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acd.ami.control, "CHANNEL_GONE_GRACE", 0.01)
    control = control_with_caller(Link(refuse="No such channel"))
    gone: list[str] = []
    control.on_channel_gone = gone.append
    with pytest.raises(NotCarriedOut):
        await control.send(TagCall("c1", "billing", 8, 100.0))
    control.book.remove("1.1")
    await asyncio.sleep(0.05)
    assert gone == []


async def test_a_command_after_the_callers_hangup_is_no_error_one_never_known_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The book forgets a leg when the translator reads its Hangup, a moment before the core hears of it:
    a command the core decided meanwhile finds no channel, as one sent to Asterisk would have found
    "No such channel". That race is no error; a call whose channel was never known is one."""
    control = control_with_caller(Link())
    control.book.remove("1.1")  # its Hangup, translated; the core has not handled it yet
    with caplog.at_level("ERROR", logger="acd.ami.control"), pytest.raises(NotCarriedOut, match=r"^no channel$"):
        control.send(RING)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    with caplog.at_level("ERROR", logger="acd.ami.control"), pytest.raises(NotCarriedOut, match=r"^no channel$"):
        control.send(RingAgent("o9", "c9", "a2", "agent2", 15.0))
    assert [r.getMessage() for r in caplog.records] == ["no channel known for call c9; cannot RingAgent"]


async def test_a_new_stay_clears_the_agent_a_transfer_named_and_a_priority_change_keeps_it() -> None:
    """A caller transferred to an agent by name carries ``ACD_DIRECTED`` for a restarted ACD; once moved
    or overflowed into another queue they wait for anyone there, so the channel must no longer say so."""
    link = Link()
    control = control_with_caller(link)
    await control.send(TagCall("c1", "billing", 8, 100.0))  # a priority change: still theirs
    assert [a["Variable"] for a in link.sent] == ["ACD_QUEUE", "ACD_PRIORITY", "ACD_ENQUEUED", "ACD_WAITED"]
    link.sent.clear()
    await control.send(TagCall("c1", "sales", 8, 130.0, 30.0, new_stay=True))
    assert [(a["Variable"], a["Value"]) for a in link.sent][-1] == ("ACD_DIRECTED", "")
    assert len(link.sent) == 5
