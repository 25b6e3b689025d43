"""``TransferCall`` over AMI: the agent's channel is read from the caller's ``BRIDGEPEER`` and must be
a channel of the call's agent, and the target is a plain ``queue-<name>`` of ``acd-transfer``, before
any ``BlindTransfer`` is sent (docs/dialplan.md, "Transfers")."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from acd.ami import control as control_module
from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.wire import ActionValue, Message
from acd.core.commands import TransferCall
from acd.ports import NotCarriedOut


class Link:
    """Answers Getvar BRIDGEPEER with ``peer``; keeps every action."""

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.sent: list[Mapping[str, ActionValue]] = []

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        self.sent.append(action)
        if action.get("Action") == "Getvar":
            return Message({"Response": "Success", "Value": self.peer})
        return Message({"Response": "Success"})


def _control(link: Link) -> AmiCallControl:
    control = AmiCallControl(link, transfer_numbers=("_1555NXXXXXX",))  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    return control


async def test_the_agents_leg_transfers_the_caller_into_acd_transfer() -> None:
    link = Link("PJSIP/agent1-0000000a")
    await _control(link).send(TransferCall("c1", "a1", "agent1", "support"))
    assert [dict(a) for a in link.sent] == [
        {"Action": "Getvar", "Channel": "PJSIP/trunk-1", "Variable": "BRIDGEPEER"},
        {
            "Action": "BlindTransfer",
            "Channel": "PJSIP/agent1-0000000a",
            "Context": "acd-transfer",
            "Exten": "queue-support",
        },
    ]


@pytest.mark.parametrize("peer", ["PJSIP/agent2-0000000b", "Local/agent1@x-1;2", "PJSIP/agent10-0000000c"])
async def test_no_transfer_unless_the_caller_is_bridged_with_the_calls_agent(peer: str) -> None:
    link = Link(peer)
    with pytest.raises(NotCarriedOut):
        await _control(link).send(TransferCall("c1", "a1", "agent1", "support"))
    assert [a["Action"] for a in link.sent] == ["Getvar"]


async def test_a_caller_not_bridged_yet_is_asked_again_until_the_bridge_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """AcdAnswered comes before Asterisk bridges the two: a transfer asked at once finds no peer, asks
    again, and transfers once the bridge is there; never bridged, it is refused after the wait."""
    monkeypatch.setattr(control_module, "BRIDGE_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(control_module, "BRIDGE_POLL_SECONDS", 0.01)
    link = Link("")
    control = _control(link)
    done = asyncio.ensure_future(control.send(TransferCall("c1", "a1", "agent1", "support")))
    await asyncio.sleep(0.05)
    link.peer = "PJSIP/agent1-0000000a"
    await done
    actions = [a["Action"] for a in link.sent]
    assert actions[-1] == "BlindTransfer" and actions.count("Getvar") >= 2
    never = Link("")
    with pytest.raises(NotCarriedOut):
        await _control(never).send(TransferCall("c1", "a1", "agent1", "support"))
    assert "BlindTransfer" not in [a["Action"] for a in never.sent] and len(never.sent) >= 2


@pytest.mark.parametrize(
    ("endpoint", "queue"), [("agent1", "support,x"), ("agent1", "sup/port"), ("agent1&PJSIP/x", "support")]
)
async def test_a_name_that_is_not_plain_never_reaches_the_pbx(endpoint: str, queue: str) -> None:
    link = Link("PJSIP/agent1-0000000a")
    with pytest.raises(NotCarriedOut):
        await _control(link).send(TransferCall("c1", "a1", endpoint, queue))
    assert link.sent == []


async def test_an_allowed_number_is_the_extension_and_another_never_leaves() -> None:
    link = Link("PJSIP/agent1-0000000a")
    await _control(link).send(TransferCall("c1", "a1", "agent1", "", "15552345678"))
    assert link.sent[-1]["Exten"] == "15552345678"
    link = Link("PJSIP/agent1-0000000a")
    with pytest.raises(NotCarriedOut):
        await _control(link).send(TransferCall("c1", "a1", "agent1", "", "19005550100"))
    assert link.sent == []


async def test_a_transfer_to_an_agent_by_name_is_agent_endpoint_of_acd_transfer() -> None:
    link = Link("PJSIP/agent1-0000000a")
    await _control(link).send(TransferCall("c1", "a1", "agent1", "billing", target_endpoint="agent3"))
    assert dict(link.sent[-1]) == {
        "Action": "BlindTransfer",
        "Channel": "PJSIP/agent1-0000000a",
        "Context": "acd-transfer",
        "Exten": "agent-agent3",
    }
    link = Link("PJSIP/agent1-0000000a")
    with pytest.raises(NotCarriedOut):  # not a plain endpoint name: nothing leaves
        await _control(link).send(TransferCall("c1", "a1", "agent1", "billing", target_endpoint="agent3&PJSIP/x"))
    assert link.sent == []


async def test_a_number_consult_names_the_number_and_atxfers_to_01_only_when_allowed() -> None:
    """``ConsultCall`` with a number (an attended transfer to an outside number): ``Setvar
    __ACD_CONSULT_TARGET=<digits>`` then ``Atxfer`` to ``acd-transfer,01`` on the agent's leg; a number
    the patterns do not allow sends nothing at all."""
    from acd.core.commands import ConsultCall
    from acd.dialling import NotDialable

    link = Link("PJSIP/agent1-0000000a")
    await _control(link).send(ConsultCall("c1", "a1", "agent1", "", "15552345678"))
    assert [dict(a) for a in link.sent][1:] == [
        {
            "Action": "Setvar",
            "Channel": "PJSIP/agent1-0000000a",
            "Variable": "__ACD_CONSULT_TARGET",
            "Value": "15552345678",
        },
        {"Action": "Atxfer", "Channel": "PJSIP/agent1-0000000a", "Context": "acd-transfer", "Exten": "01"},
    ]
    for number in ("19005551234", "1555234567,8"):
        link = Link("PJSIP/agent1-0000000a")
        with pytest.raises((NotDialable, NotCarriedOut)):
            await _control(link).send(ConsultCall("c1", "a1", "agent1", "", number))
        assert link.sent == []


async def test_a_phone_consult_of_a_queue_tells_the_waiting_leg_the_picked_agent_and_nothing_else() -> None:
    """``ConsultCall`` with ``phone_leg`` (``*2`` then a queue's number): one ``Setvar
    ACD_CONSULT_PICKED=<endpoint>`` on that Local leg, no Atxfer; a leg that is no Local channel or an
    endpoint that is no plain name sends nothing."""
    from acd.core.commands import ConsultCall

    leg = "Local/300@acd-transfer-00000001;2"
    link = Link("PJSIP/agent1-0000000a")
    await _control(link).send(ConsultCall("c1", "a1", "agent1", "agent5", phone_leg=leg))
    assert [dict(a) for a in link.sent] == [
        {"Action": "Setvar", "Channel": leg, "Variable": "ACD_CONSULT_PICKED", "Value": "agent5"}
    ]
    for bad_leg, endpoint in (("PJSIP/agent1-0000000a", "agent5"), (leg, "agent5&PJSIP/x")):
        link = Link("PJSIP/agent1-0000000a")
        with pytest.raises(NotCarriedOut):
            await _control(link).send(ConsultCall("c1", "a1", "agent1", endpoint, phone_leg=bad_leg))
        assert link.sent == []
