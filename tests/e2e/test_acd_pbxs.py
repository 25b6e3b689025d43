"""The ACD over two real PBXs behind Kamailio, with the phone farm: what docs/pbxs.md promises, end to end.

cluster_stack.py runs pbx2 and Kamailio beside the e2e stack's PBX (pbx) and farm; the ACD here is
configured with both PBXs (``[[pbx]]``) and reads agent reachability and the PBXs' dispatcher state
from Kamailio (``[kamailio]``). One agent, agent20, registered with Kamailio, serves one queue; every
caller enters through Kamailio, whose round robin alternates the PBXs call by call. One scenario:

- callers land on both PBXs (the records' ``pbx`` names both) and agent20 answers from either;
- cross-PBX order: the agent busy, a caller on pbx2 and then one on pbx: pbx2's is answered first;
- pbx2 killed (-9) with a caller talking and callers waiting on it: new callers go to pbx, pbx's
  callers keep being answered, pbx2's close (``pbx_lost``, the talking one answered, its agent in
  wrap-up), every other call recorded once with the farm's outcome;
- pbx2 started again: its link reconnects and resyncs, a new caller lands on it and is answered, and
  no call is recorded twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from acd_process import eventually
from cluster_stack import PBX2_AMI_PORT, PROBE_BOUND, Cluster, cluster
from e2e_stack import PbxStack, run_script

from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess, agents_toml, queue_toml

AGENT = "agent20"  # registered with Kamailio (and with the PBX directly, as every farm phone)
DID = "200"  # billing (dialplan/acd-inbound.conf)
TALK = 1  # seconds an agent talks, unless a step needs a longer call
LOST_AFTER = 16  # [ami] lost_after's minimum: the slow path; Kamailio's probes are the fast one
# seconds from pbx2's kill to its calls closed: Kamailio's probe bound and two reads of its state
LOSS_BOUND = PROBE_BOUND + 2

CONFIG = """
skills = ["billing"]

[ami]
ping_interval = 1.0
ping_timeout = 2.0
heartbeat_interval = 1.0
lost_after = {lost_after}

[[pbx]]
name = "pbx"
port = {pbx_port}
user = "{user}"
secret_env = "ACD_AMI_SECRET"

[[pbx]]
name = "pbx2"
port = {pbx2_port}
user = "{user}"
secret_env = "ACD_AMI_SECRET_PBX2"

[kamailio]
control = "{control}"
interval = 0.5

[http]
port = {http_port}

[database]
data_dir = "{data_dir}/pg"
journal_dir = "{data_dir}/journal"

[routing]
ring_timeout = 8
reoffer_cooldown = 60
max_consecutive_misses = 2
short_abandon = 1
"""


@pytest.fixture
def group(pbx_stack: PbxStack) -> Iterator[Cluster]:
    with cluster(pbx_stack, (AGENT,)) as running:
        yield running


@pytest.fixture
def two_pbx_acd(pbx_stack: PbxStack, group: Cluster, tmp_path: Path) -> Iterator[AcdProcess]:
    """``acd run`` with both PBXs and Kamailio; stopped with SIGTERM after."""
    info = pbx_stack.pbx

    def config(http_port: int) -> str:
        text = CONFIG.format(
            lost_after=LOST_AFTER,
            pbx_port=info.port,
            pbx2_port=PBX2_AMI_PORT,
            user=info.user,
            control=group.kamailio.rpc_socket,
            http_port=http_port,
            data_dir=tmp_path,
        )
        queue = queue_toml("billing", "{ billing = 1 }", sla_threshold=20, max_wait=120, wrapup=1)
        return text + "\n" + queue + agents_toml({AGENT: "{ billing = 5 }"})

    env = {"ACD_AMI_SECRET": info.secret, "ACD_AMI_SECRET_PBX2": group.pbx2.secret}
    service = AcdProcess(tmp_path, config, env)
    service.start()
    try:
        assert service.admin_token  # made now (an `acd tokens` run), before the scenario's clock starts
        yield service
    finally:
        code = service.stop()
        log_tail = service.tail()
        EmbeddedPostgres(tmp_path / "pg").stop()
        assert code == 0, f"acd exited with {code} on SIGTERM:\n{log_tail}"


class Callers:
    """Callers placed through Kamailio, each with its own number, and the PBX each one landed on."""

    def __init__(self, farm: Farm, amis: dict[str, AmiClient]) -> None:
        self.farm = farm
        self.amis = amis
        self.landed: dict[str, str] = {}  # number -> PBX
        self.took: dict[str, float] = {}  # number -> seconds from the INVITE to its channel on a PBX
        self.sent: dict[str, float] = {}  # number -> when placed (monotonic)
        self._n = 0

    async def place(self, patience: float) -> str:
        """One caller through Kamailio; returns its number once it is on a PBX (which: ``landed``)."""
        self._n += 1
        number = f"7{time.time_ns() % 10**8:08d}{self._n:02d}"
        marks = {name: ami.mark() for name, ami in self.amis.items()}
        self.sent[number] = time.monotonic()
        await self.farm.place_call(DID, patience, caller_id=number)

        def on_pbx() -> str | None:
            for name, ami in self.amis.items():
                if any(
                    e.get("Event") == "Newchannel" and e.get("CallerIDNum") == number for e in ami.events(marks[name])
                ):
                    return name
            return None

        self.landed[number] = await eventually(on_pbx, 10, f"caller {number} on a PBX", every=0.05)
        self.took[number] = time.monotonic() - self.sent[number]
        return number

    def talking(self, since: int = 0) -> list[str]:
        """The numbers whose caller talked with a farm agent, in order."""
        return [
            e.get("FarmCaller", "")
            for e in self.farm.ami.events(since)
            if e.get("Event") == "UserEvent" and e.get("UserEvent") == "FarmCallerTalking"
        ]


async def test_two_pbxs_behind_kamailio_share_one_order_and_a_pbx_killed_mid_traffic_closes_its_calls_and_comes_back(
    group: Cluster, two_pbx_acd: AcdProcess, pbx_stack: PbxStack, pbx_ami: AmiClient, farm: Farm
) -> None:
    # (the harness and the ACD first: they block while starting, before the test's AMI links open)
    acd = two_pbx_acd
    info = pbx_stack.farm
    via_kamailio = Farm(info.host, info.port, info.user, info.secret, trunk="kamailio")
    await via_kamailio.connect()
    pbx2_ami = group.pbx2.client("pbx2")
    await pbx2_ami.connect()
    try:
        await scenario(acd, farm, via_kamailio, group, pbx_ami, pbx2_ami)
    finally:
        await via_kamailio.hangup_all()
        pbx2_ami.close()
        await via_kamailio.close()
        await farm.set_agent(AGENT, "answer", delay=1, talk=3)


async def scenario(
    acd: AcdProcess, farm: Farm, via_kamailio: Farm, group: Cluster, pbx_ami: AmiClient, pbx2_ami: AmiClient
) -> None:
    began = time.monotonic()
    await farm.set_agent(AGENT, "answer", delay=0.3, talk=3)
    code, body = acd.post(f"/api/v1/agents/{AGENT}/login")
    assert code == 200, body
    states: list[str] = []

    def ready() -> bool:
        state = acd.agent_state(AGENT)
        if not states or states[-1] != state:
            states.append(state)
        return state == "ready"

    await eventually(ready, 20, f"{AGENT} ready after login", every=0.1)
    print(f"\nagent ready after {time.monotonic() - began:.1f} s ({states})")
    callers = Callers(via_kamailio, {"pbx": pbx_ami, "pbx2": pbx2_ami})
    start = via_kamailio.ami.mark()

    # 1. one caller, answered from whichever PBX it landed on; while the agent talks (3 s), a caller on
    #    pbx2 and then one on pbx (Kamailio's round robin alternates the PBXs: when the next caller would
    #    land on pbx, a caller who gives up after 1 s goes first)
    first = await callers.place(patience=20)
    print(f"first caller on {callers.landed[first]} after {time.monotonic() - began:.1f} s")
    await eventually(lambda: first in callers.talking(start), 8, "the first caller talking with the agent")
    await farm.set_agent(AGENT, "answer", delay=0.3, talk=TALK)
    if callers.landed[first] == "pbx2":
        await callers.place(patience=1)
    on_pbx2 = await callers.place(patience=20)
    await asyncio.sleep(0.3)
    on_pbx = await callers.place(patience=20)
    assert (callers.landed[on_pbx2], callers.landed[on_pbx]) == ("pbx2", "pbx"), callers.landed
    talked = await eventually(
        lambda: (
            [n for n in callers.talking(start) if n in (on_pbx2, on_pbx)] if on_pbx in callers.talking(start) else None
        ),
        20,
        "both later callers answered",
    )
    # one order across the PBXs: the caller who waited longer (on pbx2) is answered first
    assert talked == [on_pbx2, on_pbx], (talked, callers.landed)
    print(f"\nlanded: {callers.landed}; order across PBXs after {time.monotonic() - began:.1f} s")

    # 2. pbx2 killed with a caller talking on it (agent20, 10 s) and callers waiting on both PBXs
    await eventually(lambda: acd.agent_state(AGENT) == "ready", 8, "the agent ready after the first calls")
    await farm.set_agent(AGENT, "answer", delay=0.3, talk=10)
    mark = via_kamailio.ami.mark()
    talker = await callers.place(patience=30)  # the caller after on_pbx: pbx2
    assert callers.landed[talker] == "pbx2", callers.landed
    await eventually(lambda: talker in callers.talking(mark), 8, "pbx2's caller talking with the agent")
    await farm.set_agent(AGENT, "answer", delay=0.3, talk=TALK)
    waiting = [await callers.place(patience=30) for _ in range(4)]
    assert [callers.landed[n] for n in waiting] == ["pbx", "pbx2", "pbx", "pbx2"], callers.landed
    await eventually(lambda: acd.get("/api/v1/status")["queues"][0]["waiting"] == 4, 5, "four callers waiting")
    os.kill(group.pbx2_pid(), signal.SIGKILL)
    killed = time.monotonic()

    async def lost_after_kill() -> float:
        # lost through Kamailio's dispatcher state (the fast path), long before [ami] lost_after
        await eventually(lambda: acd.metric("acd_calls_lost_total", pbx="pbx2") >= 3, LOSS_BOUND, "pbx2 lost", 0.1)
        return time.monotonic() - killed

    losing = asyncio.create_task(lost_after_kill())
    # new callers keep coming, one every 0.4 s for the probe bound and a bit: every one ends on pbx
    # (one sent to pbx2 before the probes took it out fails over to pbx after a second); they give up soon
    after_kill = []
    while time.monotonic() - killed < PROBE_BOUND + 1.5:
        after_kill.append(await callers.place(patience=2))
        await asyncio.sleep(0.4)
    assert {callers.landed[n] for n in after_kill} == {"pbx"}, callers.landed
    failed_over = [n for n in after_kill if callers.took[n] > 0.8]
    last_to_pbx2 = max((callers.sent[n] - killed for n in failed_over), default=0.0)
    assert last_to_pbx2 <= PROBE_BOUND, {n: (callers.sent[n] - killed, callers.took[n]) for n in after_kill}
    # pbx2's calls close (pbx_lost) and its agent goes to wrap-up, then serves pbx's callers
    lost_at = await losing
    served = await eventually(
        lambda: (
            [n for n in callers.talking(mark) if n in (waiting[0], waiting[2])]
            if waiting[2] in callers.talking(mark)
            else None
        ),
        20,
        "pbx's waiting callers answered after pbx2's loss",
    )
    assert served == [waiting[0], waiting[2]]
    print(
        f"pbx2 killed: last caller sent to it {last_to_pbx2:.2f} s after (bound {PROBE_BOUND} s),"
        f" its calls lost after {lost_at:.2f} s"
    )

    # 3. pbx2 again: the ACD reconnects and resyncs it, and a caller landing on it is answered
    restarted = time.monotonic()
    await asyncio.to_thread(run_script, "start", "pbx2")
    await eventually(lambda: acd.metric("acd_ami_connected", pbx="pbx2") == 1, 15, "the ACD's link to pbx2 again")
    await eventually(lambda: group.kamailio.pbx_flags()["pbx2"].startswith("A"), 10, "pbx2 in Kamailio's dispatcher")
    await eventually(lambda: acd.agent_state(AGENT) == "ready", 10, "the agent ready")
    pbx2_again = group.pbx2.client("pbx2")
    await pbx2_again.connect()
    try:
        callers.amis["pbx2"] = pbx2_again
        back: list[str] = []
        mark = via_kamailio.ami.mark()
        while not back or callers.landed[back[-1]] != "pbx2":
            assert len(back) < 3, callers.landed
            back.append(await callers.place(patience=20))
        await eventually(lambda: back[-1] in callers.talking(mark), 15, "a caller on pbx2 answered after its restart")
        answered_after = time.monotonic() - restarted
    finally:
        callers.amis["pbx2"] = pbx2_ami
        pbx2_again.close()
    # every caller gone: the records, one per call, each with the farm's outcome
    await via_kamailio.hangup_all()
    made = set(callers.landed)
    rows = await eventually(lambda: rows_when(acd, made), 20, "every call recorded and ended")
    talked_all = set(callers.talking(start))
    by_caller = {r["caller"]: r for r in rows}
    assert len(rows) == len(by_caller) == len(made), sorted(r["caller"] for r in rows)
    lost_callers = {talker, waiting[1], waiting[3]}
    for number in made:
        row = by_caller[number]
        assert row["pbx"] == callers.landed[number], (number, dict(row))
        assert row["uniqueid"].startswith(f"{row['pbx']}-"), dict(row)  # each PBX's systemname (pbx.sh)
        if number in lost_callers:
            want = ("answered" if number == talker else "failed", "pbx_lost", "pbx2")
            assert (row["outcome"], row["end_reason"], row["pbx"]) == want, (number, dict(row))
            if number == talker:  # its agent went to wrap-up
                assert row["wrapup_seconds"] is not None, dict(row)
        else:
            assert row["end_reason"] != "pbx_lost", (number, dict(row))
            assert (row["outcome"] == "answered") == (number in talked_all), (number, dict(row))
    assert {r["pbx"] for r in rows if r["outcome"] == "answered" and r["end_reason"] != "pbx_lost"} == {"pbx", "pbx2"}
    print(
        f"pbx2 back: first caller on it answered {answered_after:.2f} s after its start;"
        f" {len(made)} calls, {len(rows)} records; scenario {time.monotonic() - began:.1f} s"
    )


async def rows_when(acd: AcdProcess, made: set[str]) -> list[dict[str, Any]] | None:
    """The records of the calls made, once each has ended."""
    rows = await acd.rows(
        "SELECT caller, uniqueid, pbx, outcome, end_reason, ended_at, wrapup_seconds FROM interactions"
    )
    if {r["caller"] for r in rows if r["ended_at"] is not None} >= made:
        return [dict(r) for r in rows]
    return None
