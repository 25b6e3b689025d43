"""Agent presence from SIP on the real PBX: an agent whose phone is gone, or busy on a call the ACD
did not place, is not offered callers (docs/routing-core.md, docs/dialplan.md "Agent reachability").

The farm's phones register to the PBX (deploy/farm/pjsip-agent.conf.in, ``agentN-reg``). The farm's
AMI ``PJSIPUnregister`` drops one registration and stops its retries, as a phone that is switched
off; ``PJSIPRegister`` brings it back. The ACD learns both from its own AMI user's events
(``ContactStatus``, ``DeviceStateChange``). A direct call is rung by an AMI Originate (a call no ACD
offer placed): the phone's device state goes ``BUSY`` (``device_state_busy_at = 1``) and the agent
is busy elsewhere until it ends. A phone that unregisters while the ACD's AMI link is down is read back after
the reconnect: the ACD's user may not list contacts (``PJSIPShowContacts`` needs write ``system``), so the endpoint's
device state (``DeviceStateList``: ``UNAVAILABLE``) must say it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acd_process import e2e_acd, eventually, login, status
from e2e_stack import PbxStack, enqueue_caller, read_secrets, user_event
from tcp_cut import TcpCut

from acd.ami.wire import FrameDecoder, encode_action
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

QUIET_SECONDS = 4  # how long a waiting caller is watched for an offer that must not come


async def ring_directly(stack: PbxStack, secret: str, agent: str) -> list[dict[str, str]]:
    """Ring ``agent``'s phone from the PBX, outside the ACD: an ``Originate`` as ``acd-monitor`` (it
    gets no events, so no ``OriginateResponse`` to wait for: the replies to Login and Originate)."""
    reader, writer = await asyncio.open_connection(stack.pbx.host, stack.pbx.port)
    decoder = FrameDecoder()
    replies: list[dict[str, str]] = []
    actions: list[dict[str, str | list[str]]] = [
        {"Action": "Login", "Username": "acd-monitor", "Secret": secret, "Events": "off"},
        {"Action": "Originate", "Channel": f"PJSIP/{agent}", "Application": "Wait", "Data": "30", "Async": "true"},
    ]
    try:
        for n, action in enumerate(actions):
            writer.write(encode_action({**action, "ActionID": f"d{n}"}))
            while not any(m.get("ActionID") == f"d{n}" for m in replies):
                data = await asyncio.wait_for(reader.read(4096), 10)
                assert data, "the PBX closed the AMI connection"
                replies += [m for m in decoder.feed(data) if "Response" in m]
    finally:
        writer.close()
    return replies


def reachable(acd: AcdProcess, agent: str) -> bool:
    return bool(status(acd)["agents"][agent]["reachable"])


def ringing(agent: str) -> Any:
    return user_event("AcdRinging", AcdAgent=agent)


async def test_an_unregistered_phone_gets_no_offer_until_it_registers_again(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await login(acd, "agent2")  # alone in billing
    await eventually(lambda: reachable(acd, "agent2"), 10, "agent2's phone reachable")
    await farm.ami.action({"Action": "PJSIPUnregister", "Registration": "agent2-reg"})
    try:
        await eventually(lambda: not reachable(acd, "agent2"), 20, "agent2 unreachable once its phone unregistered")
        assert acd.agent_state("agent2") == "ready"  # its state is kept; it only gets no offers

        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 1, 10, "the caller waiting")
        await asyncio.sleep(QUIET_SECONDS)
        assert not [e for e in pbx_ami.events(mark) if ringing("agent2")(e)]
        assert status(acd)["queues"]["billing"]["waiting"] == 1
    finally:
        await farm.ami.action({"Action": "PJSIPRegister", "Registration": "agent2-reg"})

    await eventually(lambda: reachable(acd, "agent2"), 20, "agent2 reachable once registered again")
    await pbx_ami.wait_event(ringing("agent2"), 20, mark)

    async def answered() -> Any:
        rows = await acd.rows("SELECT agent_id FROM interactions WHERE uniqueid = $1", caller["Uniqueid"])
        return rows if rows and rows[0]["agent_id"] else None

    rows = await eventually(answered, 20, "the caller answered by agent2")
    assert rows[0]["agent_id"] == "agent2"


async def test_an_agent_on_a_direct_call_gets_no_offer_until_it_ends(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, pbx_stack: PbxStack
) -> None:
    acd = live_acd
    await login(acd, "agent3")  # alone in billing
    await eventually(lambda: reachable(acd, "agent3"), 10, "agent3's phone reachable")
    # the phone answers the direct call after 1 s and hangs up after 12 s of talk
    await farm.set_agent("agent3", "answer", delay=1, talk=12)
    mark = pbx_ami.mark()
    # a call the ACD did not place: the PBX rings agent3's phone straight away (Originate as the
    # PBX's originate-only AMI user; the PBX loads no CLI originate)
    secret = read_secrets(pbx_stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]
    replies = await ring_directly(pbx_stack, secret, "agent3")
    assert [r.get("Response") for r in replies] == ["Success", "Success"], replies
    await pbx_ami.wait_event(
        lambda e: (
            e.get("Event") == "DeviceStateChange"
            and e.get("Device") == "PJSIP/agent3"
            and e.get("State") in ("INUSE", "BUSY")
        ),
        15,
        mark,
    )
    await eventually(lambda: not reachable(acd, "agent3"), 10, "agent3 busy elsewhere on the direct call")
    assert acd.agent_state("agent3") == "ready"

    await farm.set_agent("agent3", "answer", delay=1, talk=3)  # the ACD's call, later
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=60)
    await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 1, 10, "the caller waiting")
    await asyncio.sleep(QUIET_SECONDS)
    assert not [e for e in pbx_ami.events(mark) if ringing("agent3")(e)]

    # the direct call ends (the phone hangs up): agent3 is offered the caller
    await pbx_ami.wait_event(ringing("agent3"), 30, mark)

    async def answered() -> Any:
        rows = await acd.rows("SELECT agent_id FROM interactions WHERE uniqueid = $1", caller["Uniqueid"])
        return rows if rows and rows[0]["agent_id"] else None

    rows = await eventually(answered, 20, "the caller answered by agent3")
    assert rows[0]["agent_id"] == "agent3"


async def test_a_phone_that_unregistered_while_the_link_was_down_is_unreachable_after_the_reconnect(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    cut = TcpCut(pbx_stack.pbx.host, pbx_stack.pbx.port)
    await cut.start()
    info = pbx_stack.pbx
    acd = e2e_acd(tmp_path, {"ACD_AMI_SECRET": info.secret}, cut.port, info.user)
    await asyncio.to_thread(acd.start)  # the relay runs on this event loop: never block it
    unregistered = False
    try:
        await farm.set_agent("agent2", "answer", delay=1, talk=3)
        await eventually(lambda: acd.health()["ami_connected"], 20, "the ACD connected")
        await login(acd, "agent2")
        await eventually(lambda: reachable(acd, "agent2"), 10, "agent2's phone reachable")

        cut.blackhole()  # the ACD sees nothing from here on, and cannot reconnect
        cut.close_all()
        await eventually(lambda: not acd.health()["ami_connected"], 10, "the ACD to lose the link")
        await farm.ami.action({"Action": "PJSIPUnregister", "Registration": "agent2-reg"})
        unregistered = True

        async def unavailable() -> bool:
            reply = await pbx_ami.action({"Action": "DeviceStateList"})
            return any(m.get("Device") == "PJSIP/agent2" and m.get("State") == "UNAVAILABLE" for m in reply)

        await eventually(unavailable, 20, "the PBX to see agent2's phone gone")
        assert reachable(acd, "agent2")  # what the ACD last heard

        cut.restore()
        await eventually(lambda: acd.health()["ami_connected"], 20, "the AMI link to come back")
        await eventually(lambda: not reachable(acd, "agent2"), 15, "agent2 unreachable after the resync")

        mark = pbx_ami.mark()
        await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 1, 10, "the caller waiting")
        await asyncio.sleep(QUIET_SECONDS)
        assert not [e for e in pbx_ami.events(mark) if ringing("agent2")(e)]

        await farm.ami.action({"Action": "PJSIPRegister", "Registration": "agent2-reg"})
        unregistered = False
        await pbx_ami.wait_event(ringing("agent2"), 20, mark)
    finally:
        if unregistered:
            await farm.ami.action({"Action": "PJSIPRegister", "Registration": "agent2-reg"})
        await asyncio.to_thread(acd.stop)
        await cut.stop()
