"""Two PBXs behind Kamailio (deploy/kamailio/kamailio.cfg, docs/kamailio.md), without the ACD yet.

The foundation of routing across several PBXs: Kamailio spreads callers over the e2e stack's PBX and a
second one (pbx2, started by cluster_stack.py beside it), is the registrar a farm phone registers
with, and a PBX rings that phone through it. The ACD still drives one PBX; its multi-PBX support
comes next, so this test plays no ACD: it counts the calls each PBX receives (AMI Newchannel) and the
farm's phone events.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

from cluster_stack import PBX2_AMI_PORT, PROBE_BOUND, Cluster, cluster, process_cpu_seconds
from e2e_stack import PbxStack, read_secrets, run_script
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from acd.ami.translate import Translator
from acd.ami.wire import FrameDecoder, encode_action
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentReachability, Event
from acd.kamailio.reader import KamailioReader
from acd.kamailio.rpc import KamailioRpc
from phonefarm import AmiClient, Farm

PBXS = ("pbx", "pbx2")
AGENT = "agent20"  # registered with Kamailio besides its usual registration with the PBX
KAMAILIO = "127.0.0.1:5080"
# seconds: a caller who hangs up through Kamailio is gone from the PBX within this (the BYE's round trip
# through the proxy; measured well under 0.5 s). A BYE lost on the way would leave the PBX's channel to
# its own end: the ACD-less hold falls back and plays its apology, about 10 s
HANGUP_BOUND = 2.0
# seconds: how long the teardown waits for the PBX to be idle, however the scenario ended
IDLE_BOUND = 12.0


async def calls_landing(farm: Farm, amis: dict[str, AmiClient], count: int, patience: float = 2) -> Counter[str]:
    """Place ``count`` callers through Kamailio (DID 200, ``patience`` seconds once answered); on which
    PBX each one appears."""
    marks = {name: ami.mark() for name, ami in amis.items()}
    numbers = [f"5{time.time_ns() % 10**9:09d}{n}" for n in range(count)]
    for number in numbers:
        await farm.place_call("200", patience, caller_id=number)
        await asyncio.sleep(0.2)
    landed: Counter[str] = Counter()

    def on(name: str, number: str) -> bool:
        return any(
            e.get("Event") == "Newchannel" and e.get("CallerIDNum") == number for e in amis[name].events(marks[name])
        )

    deadline = time.monotonic() + 15
    waiting = set(numbers)
    while waiting and time.monotonic() < deadline:
        for number in list(waiting):
            for name in amis:
                if on(name, number):
                    landed[name] += 1
                    waiting.discard(number)
        await asyncio.sleep(0.1)
    assert not waiting, f"callers that reached no PBX: {sorted(waiting)} (landed: {dict(landed)})"
    return landed


async def ring_from(stack: PbxStack, farm: Farm, port: int, dial: str, agent: str) -> bool:
    """The PBX whose AMI is on ``port`` dials ``dial`` into Wait (an Originate as the originate-only AMI
    user ``acd-monitor``, as the ACD rings a supervisor); did the farm's phone of ``agent`` answer?"""
    secret = read_secrets(stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]
    mark = farm.mark()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = FrameDecoder()
    replies: list[dict[str, str]] = []
    try:
        login = {"Action": "Login", "Username": "acd-monitor", "Secret": secret, "Events": "off"}
        originate = {"Action": "Originate", "Channel": dial, "Application": "Wait", "Data": "1", "Async": "true"}
        for n, action in enumerate([login, originate]):
            writer.write(encode_action({**action, "ActionID": f"r{n}"}))
            while not any(m.get("ActionID") == f"r{n}" for m in replies):
                data = await asyncio.wait_for(reader.read(4096), 10)
                assert data, "the PBX closed the AMI connection"
                replies += [m for m in decoder.feed(data) if "Response" in m]
    finally:
        writer.close()
    assert [m["Response"] for m in replies] == ["Success", "Success"], replies
    try:
        await farm.wait_user_event("FarmAgentAnswered", 8, mark, FarmAgent=agent)
    except TimeoutError:
        return False
    return True


async def pbx_channels(ami: AmiClient) -> list[str]:
    """The channels the PBX has now (CoreShowChannels)."""
    reply = await ami.action({"Action": "CoreShowChannels"})
    return [m.get("Channel", "") for m in reply if m.get("Event") == "CoreShowChannel"]


async def until_idle(ami: AmiClient, bound: float) -> tuple[float, list[str]]:
    """Poll the PBX until it has no channel, at most ``bound`` seconds: the seconds it took, and the
    channels still there if it was not idle by then."""
    began = time.monotonic()
    while channels := await pbx_channels(ami):
        if time.monotonic() - began > bound:
            return time.monotonic() - began, channels
        await asyncio.sleep(0.05)
    return time.monotonic() - began, []


class Events:
    """The reader's events, kept (the one writer's place)."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    def submit(self, event: Event) -> bool:
        self.seen.append(event)
        return True


def acd_reader(group: Cluster) -> tuple[KamailioReader, Events]:
    """The ACD's reader of Kamailio (acd.kamailio) on this Kamailio's control socket, for agents 19 and 20."""
    config = RoutingConfig(
        queues=(QueueConfig("q", (SkillRequirement("q"),)),),
        agents=(AgentConfig("a19", "agent19", (("q", 1),)), AgentConfig("a20", AGENT, (("q", 1),))),
    )
    translator = Translator(config)
    translator.presence.follow_registrar()
    failed = PromCounter("acd_kamailio_reads_failed", "", ["read", "reason"], registry=CollectorRegistry())
    events = Events()
    rpc = KamailioRpc(str(group.kamailio.rpc_socket))
    return KamailioReader(rpc, translator.registrations, events, failed), events


def cpu_share(pids: list[int], seconds: float) -> dict[int, float]:
    """CPU of each of ``pids`` over ``seconds``, in percent of one core."""
    before = {p: process_cpu_seconds(p) for p in pids}
    time.sleep(seconds)
    return {p: 100 * (process_cpu_seconds(p) - before[p]) / seconds for p in pids}


async def test_calls_through_kamailio_spread_over_two_pbxs_reach_an_agent_from_either_and_skip_a_dead_one(
    pbx_stack: PbxStack, pbx_ami: AmiClient, farm: Farm
) -> None:
    """Round robin over both PBXs; agent20, registered with Kamailio, rung from each PBX through it
    (and an agent not registered there is not); pbx2 killed: Kamailio's probes take it out within
    their bound, and every new caller lands on the PBX left; pbx2 back: used again; killed again with
    callers at once: the one sent to it fails over to the PBX; those callers hang up: their BYEs pass
    through Kamailio and the PBX is idle at once. However it ends, the test leaves the PBX idle for the
    next one."""
    info = pbx_stack.farm
    via_kamailio = Farm(info.host, info.port, info.user, info.secret, trunk="kamailio")
    await via_kamailio.connect()
    await farm.set_agent(AGENT, "answer", delay=0.5, talk=1)
    # the harness blocks (subprocesses, polling): in a thread, so the AMI links keep reading meanwhile
    harness = cluster(pbx_stack, (AGENT,))
    try:
        group = await asyncio.to_thread(harness.__enter__)
        try:
            await scenario(pbx_stack, pbx_ami, farm, via_kamailio, group)
        finally:
            # the callers hang up while Kamailio still runs: their BYEs reach the PBX through it (once
            # it is stopped they are lost, and the PBX keeps the calls until they end by themselves)
            await via_kamailio.hangup_all()
            await until_idle(pbx_ami, IDLE_BOUND)
            await asyncio.to_thread(harness.__exit__, None, None, None)
    finally:
        await via_kamailio.hangup_all()
        await via_kamailio.close()
    # the next test starts from an idle PBX
    waited, left = await until_idle(pbx_ami, IDLE_BOUND)
    assert not left, f"channels left on the PBX after {waited:.1f} s: {left}"


async def scenario(stack: PbxStack, pbx_ami: AmiClient, farm: Farm, via_kamailio: Farm, group: Cluster) -> None:
    kamailio_pids, pbx2_pid = group.kamailio.pids(), group.pbx2_pid()
    shares = await asyncio.to_thread(cpu_share, [*kamailio_pids, pbx2_pid], 2)
    kam_cpu, pbx2_cpu = sum(shares[p] for p in kamailio_pids), shares[pbx2_pid]
    print(
        f"\nstarted in: kamailio {group.started['kamailio']:.2f} s, pbx2 {group.started['pbx2']:.2f} s;"
        f" idle CPU: kamailio {kam_cpu:.1f} %, pbx2 {pbx2_cpu:.1f} %"
    )
    pbx2_ami = group.pbx2.client("pbx2")
    await pbx2_ami.connect()
    try:
        amis = {"pbx": pbx_ami, "pbx2": pbx2_ami}

        # callers entering through Kamailio: round robin, so exactly half on each
        landed = await calls_landing(via_kamailio, amis, 4)
        assert landed == {"pbx": 2, "pbx2": 2}, landed

        # the agent's phone registered with Kamailio is rung from either PBX through it: pbx2's agent
        # contacts are Kamailio's (pbx.sh install); the PBX's own agents register with it directly, so
        # it is told Kamailio's address here
        assert group.kamailio.registered()[AGENT], "agent20 not in Kamailio's location table"
        assert await ring_from(stack, farm, PBX2_AMI_PORT, f"PJSIP/{AGENT}", AGENT), "pbx2 could not ring agent20"
        assert await ring_from(stack, farm, 5038, f"PJSIP/{AGENT}/sip:{AGENT}@{KAMAILIO}", AGENT)
        # agent19 is registered with the PBX only: Kamailio does not know it, pbx2 cannot reach it
        assert "agent19" not in group.kamailio.registered()
        assert not await ring_from(stack, farm, PBX2_AMI_PORT, "PJSIP/agent19", "agent19")
        # the ACD's reader sees the same: agent20 (the farm's phone, registered by Asterisk) reachable,
        # agent19 not; both PBXs active by their names (the dispatcher list's duid)
        reader, events = acd_reader(group)
        await reader.read()
        assert events.seen == [AgentReachability("a19", False), AgentReachability("a20", True)], events.seen
        assert (reader.view.pbx_active("pbx"), reader.view.pbx_active("pbx2")) == (True, True), reader.view

        # pbx2 dies: Kamailio's OPTIONS probes take it out, then every new caller goes to the PBX
        os.kill(group.pbx2_pid(), signal.SIGKILL)
        killed = time.monotonic()
        while not group.kamailio.pbx_flags()["pbx2"].startswith("I"):
            assert time.monotonic() - killed < PROBE_BOUND + 3, group.kamailio.pbx_flags()
            await asyncio.sleep(0.05)
        out_after = time.monotonic() - killed
        print(f"pbx2 killed: out of Kamailio's dispatcher after {out_after:.2f} s (bound {PROBE_BOUND} s)")
        assert group.kamailio.pbx_flags()["pbx"].startswith("A")
        await reader.read()  # and the ACD's reader has pbx2 out of the dispatcher, the PBX in
        assert (reader.view.pbx_active("pbx"), reader.view.pbx_active("pbx2")) == (True, False), reader.view
        landed = await calls_landing(via_kamailio, {"pbx": pbx_ami}, 4)
        assert landed == {"pbx": 4}, landed
    finally:
        pbx2_ami.close()

    # pbx2 back: the probes bring it in again and it gets callers
    await asyncio.to_thread(run_script, "start", "pbx2")
    restarted = time.monotonic()
    while not group.kamailio.pbx_flags()["pbx2"].startswith("A"):
        assert time.monotonic() - restarted < 5, group.kamailio.pbx_flags()
        await asyncio.sleep(0.05)
    pbx2_ami = group.pbx2.client("pbx2")
    await pbx2_ami.connect()
    try:
        amis = {"pbx": pbx_ami, "pbx2": pbx2_ami}
        landed = await calls_landing(via_kamailio, amis, 2)
        assert landed == {"pbx": 1, "pbx2": 1}, landed
        # killed again, and callers at once, before any probe noticed: the one sent to pbx2 gets no
        # answer and Kamailio's failure route takes it to the PBX after 1 s. They would wait 30 s
        os.kill(group.pbx2_pid(), signal.SIGKILL)
        landed = await calls_landing(via_kamailio, {"pbx": pbx_ami}, 2, patience=30)
        assert landed == {"pbx": 2}, landed
        assert "no answer from PBX sip:127.0.0.1:5062" in group.kamailio.tail(200), group.kamailio.tail()
    finally:
        pbx2_ami.close()

    # every caller hangs up now (the two above, the earlier ones still within their patience): each BYE
    # follows the Record-Route through Kamailio, also the failed-over caller's, and the PBX ends the call
    assert await pbx_channels(pbx_ami), "the callers of the PBX are not there to hang up"
    hung_up = time.monotonic()
    await via_kamailio.hangup_all()
    _, left = await until_idle(pbx_ami, HANGUP_BOUND - (time.monotonic() - hung_up))
    gone_after = time.monotonic() - hung_up
    print(f"callers hung up through Kamailio: gone from the PBX after {gone_after:.2f} s (bound {HANGUP_BOUND} s)")
    assert not left, f"callers hung up through Kamailio, still on the PBX after {gone_after:.1f} s: {left}"
