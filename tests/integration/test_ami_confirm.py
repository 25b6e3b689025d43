"""A Redirect Asterisk accepted but never carried out is noticed (docs/dialplan.md, "Redirects").

The fake server answers every Redirect with Success, like Asterisk does, and the test decides
whether the dialplan's sign (AcdRinging, AcdOverflowed) or the caller's Hangup follows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import pytest
from wiring import in_background

from acd.ami.control import AmiCallControl
from acd.ami.fake_server import FakeAmiServer
from acd.ami.link import AmiLink, LinkDown

CALLER = "PJSIP/trunk-00000001"
OFFER = "5d0f6a1e-2b3c-5d4e-9f60-718293a4b5c6"  # an offer id as the core makes one: rung in one action


@contextlib.asynccontextmanager
async def pumping(link: AmiLink, control: AmiCallControl) -> AsyncIterator[None]:
    """What the service's pump does with every message: show it to call control."""

    async def pump() -> None:
        async for item in link.events():
            if isinstance(item, LinkDown):
                control.link_down()
            elif isinstance(item, dict):
                control.observe(item)

    async with in_background(pump()):
        yield


def ringing(offer: str, agent: str = "agent1", channel: str = CALLER) -> dict[str, str]:
    return {"Event": "UserEvent", "UserEvent": "AcdRinging", "Channel": channel, "AcdOffer": offer, "AcdAgent": agent}


@dataclass
class Rung:
    control: AmiCallControl
    lost: list[str]  # offers handed back as lost
    kinds: list[str]  # what was lost: "ring", "overflow"


async def ring_then(pbx: tuple[FakeAmiServer, AmiLink], *messages: dict[str, str], wait: float = 0.5) -> Rung:
    """Ring OFFER for the caller, let the PBX send ``messages``, wait past the confirmation window."""
    server, link = pbx
    lost: list[str] = []
    kinds: list[str] = []
    control = AmiCallControl(link, confirm_within=0.3, on_ring_lost=lost.append, on_lost=kinds.append)
    async with pumping(link, control):
        await control.ring(CALLER, OFFER, "agent1", 15)
        server.push(*messages)
        await asyncio.sleep(wait)
    return Rung(control, lost, kinds)


async def test_an_offer_that_rings_is_settled(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    rung = await ring_then(pbx, ringing(OFFER))
    assert rung.lost == []
    assert len(rung.control.confirmations) == 0
    assert rung.control.lost_redirects == 0


async def test_a_lost_offer_is_handed_back_once(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    not_its_sign = (ringing("offer-other"), ringing(OFFER, channel="PJSIP/trunk-00000002"))
    rung = await ring_then(pbx, *not_its_sign, wait=0.6)
    assert rung.lost == [OFFER]
    assert rung.kinds == ["ring"]
    assert pbx[0].count("Redirect") == 1  # never sent again: the core decides what comes next


async def test_a_caller_who_hangs_up_settles_the_offer(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    rung = await ring_then(pbx, {"Event": "Hangup", "Channel": CALLER, "Uniqueid": "1.1", "Cause": "16"})
    assert rung.lost == []


async def test_a_lost_overflow_is_sent_again_until_it_lands(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    control = AmiCallControl(link, confirm_within=0.2)
    landed = {"Event": "UserEvent", "UserEvent": "AcdOverflowed", "Channel": CALLER, "AcdTarget": "voicemail"}

    def third_lands(_action: Mapping[str, str]) -> list[Mapping[str, str]]:
        """The first two Redirects are lost; the third lands (its event written before its reply, as
        Asterisk may), however slow the machine is."""
        if server.count("Redirect") == 3:
            server.push(landed)
        return [{"Response": "Success", "Message": "Redirect successful"}]

    server.handlers["redirect"] = third_lands
    async with pumping(link, control):
        await control.overflow(CALLER, "voicemail")
        await server.wait_for("Redirect", 3, within=5.0)  # lost twice
        await asyncio.sleep(0.5)
    redirects = [a for a in server.actions if a.get("Action") == "Redirect"]
    assert len(redirects) == 3
    assert {(a["Context"], a["Exten"], a["Channel"]) for a in redirects} == {("acd-overflow", "voicemail", CALLER)}
    assert control.lost_redirects == 2


async def test_an_overflow_that_never_lands_gives_up_after_its_attempts(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    control = AmiCallControl(link, confirm_within=0.1, overflow_attempts=3)
    async with pumping(link, control):
        await control.overflow(CALLER, "fallback")
        await asyncio.sleep(0.8)
    assert server.count("Redirect") == 3
    assert control.lost_redirects == 3
    assert len(control.confirmations) == 0


async def test_a_refused_redirect_is_not_watched(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    server.handlers["redirect"] = lambda _a: [{"Response": "Error", "Message": "Channel does not exist"}]
    lost: list[str] = []
    control = AmiCallControl(link, confirm_within=0.2, on_ring_lost=lost.append)
    async with pumping(link, control):
        with pytest.raises(Exception, match="Channel does not exist"):
            await control.ring(CALLER, OFFER, "agent1", 15)
        await asyncio.sleep(0.4)
    assert lost == []  # the runtime reports a refused ring itself (OfferFailed "ami: ...")
    assert len(control.confirmations) == 0


async def test_a_link_that_goes_down_forgets_what_was_pending(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    lost: list[str] = []
    control = AmiCallControl(link, confirm_within=0.5, on_ring_lost=lost.append)
    async with pumping(link, control):
        await control.ring(CALLER, OFFER, "agent1", 15)
        server.drop_clients()
        await asyncio.sleep(0.8)
    assert lost == []  # the resync after the reconnect decides, from what Asterisk reports


async def test_a_redirect_refused_while_the_channel_is_still_moving_is_sent_again(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    """Asterisk says "channel not up" while an earlier Redirect of the channel is being carried out."""
    server, link = pbx
    refusals = [2]

    def redirect(_action: object) -> list[Mapping[str, str]]:
        if refusals[0] > 0:
            refusals[0] -= 1
            return [{"Response": "Error", "Message": "Redirect failed, channel not up."}]
        return [{"Response": "Success", "Message": "Redirect successful"}]

    server.handlers["redirect"] = redirect
    control = AmiCallControl(link, confirm_within=5.0)
    await control.ring(CALLER, OFFER, "agent1", 15)
    assert server.count("Redirect") == 3
    assert server.count("Setvar") == 0  # the offer is all in the Redirect's target, sent the same each time
    assert len({a["Exten"] for a in server.actions if a.get("Action") == "Redirect"}) == 1
    # an offer the target cannot carry (an id that is not a UUID): its variables are set once, not again
    refusals[0] = 2
    await control.ring(CALLER, "offer-1", "agent1", 15)
    assert server.count("Redirect") == 6
    assert server.count("Setvar") == 3  # ACD_OFFER, ACD_RING_TIMEOUT, ACD_RECORD: not set again


async def test_a_channel_that_stays_down_keeps_its_error(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    server.handlers["redirect"] = lambda _a: [{"Response": "Error", "Message": "Redirect failed, channel not up."}]
    lost: list[str] = []
    control = AmiCallControl(link, confirm_within=5.0, on_ring_lost=lost.append)
    with pytest.raises(Exception, match="channel not up"):
        await control.ring(CALLER, OFFER, "agent1", 15)
    assert server.count("Redirect") == 11  # the first and ten more, 20 ms apart
    assert len(control.confirmations) == 0
