"""Once this process no longer leads (its lease released in a handover, or lost), nothing reaches the PBX:
not the core's commands, not the writes that bypass ``send`` (a cancel, an overflow sent again after its
confirmation timed out, a variable set on a channel), not a supervisor's Originate (docs/standby.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

import pytest

from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.errors import AmiActionError
from acd.ami.originate import Originator
from acd.ami.wire import ActionValue, Message
from acd.ports import NotCarriedOut


class Link:
    """Every action written is kept; each is answered at once."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, ActionValue]] = []

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        self.sent.append(action)
        return self._reply()

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        self.sent.append(action)
        return Message({"Response": "Success"})

    async def _reply(self) -> Message:
        return Message({"Response": "Success"})


class Lease:
    def __init__(self) -> None:
        self.live = True

    def __call__(self) -> bool:
        return self.live


def _control() -> tuple[AmiCallControl, Link, Lease]:
    link, lease = Link(), Lease()
    control = AmiCallControl(link, confirm_within=0.05)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    control.may_act = lease
    return control, link, lease


async def test_no_write_reaches_the_pbx_once_the_lease_is_gone() -> None:
    control, link, lease = _control()
    await control.cancel("PJSIP/trunk-1")
    assert len(link.sent) == 1  # leading: written
    lease.live = False
    with pytest.raises(NotCarriedOut):
        await control.cancel("PJSIP/trunk-1")
    with pytest.raises(NotCarriedOut):
        await control.overflow("PJSIP/trunk-1", "voicemail")
    with pytest.raises(NotCarriedOut):
        await control.hangup("PJSIP/trunk-1")
    with pytest.raises(NotCarriedOut):
        await control.mute_recording("PJSIP/trunk-1", True)
    assert len(link.sent) == 1


async def test_an_overflow_lost_after_the_release_is_not_sent_again() -> None:
    control, link, lease = _control()
    await control.overflow("PJSIP/trunk-1", "voicemail")  # no sign comes: its confirmation times out
    sent = len(link.sent)
    lease.live = False
    await asyncio.sleep(0.2)
    assert len(link.sent) == sent


async def test_stop_forgets_the_confirmations_so_nothing_is_sent_again() -> None:
    control, link, _lease = _control()
    await control.overflow("PJSIP/trunk-1", "voicemail")
    sent = len(link.sent)
    control.stop()
    await asyncio.sleep(0.2)
    assert len(link.sent) == sent and len(control.confirmations) == 0 and control.lost_redirects == 0


async def test_no_originate_without_a_live_lease() -> None:
    originator = Originator("127.0.0.1", 1, "acd-monitor", "secret", timeout=0.5)
    originator.may_act = lambda: False
    with pytest.raises(AmiActionError, match="fenced"):
        await originator.send({"Action": "Originate"})
