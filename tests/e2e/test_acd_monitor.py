"""Supervisor monitoring on the real PBX: ``POST /api/v1/calls/{id}/monitor`` rings the farm's
supervisor phone, which answers and hears the agent's conversation through ChanSpy.

The farm's caller plays a 440 Hz tone while talking;
both the supervisor's and the agent's phones record what they hear (WAVs written by the farm's
Asterisk) and the test measures each tone in the samples (Goertzel): the supervisor hears the caller
and the agent keeps hearing the caller the whole time (both asserted), on a recorded call (MixMonitor
on the agent's leg) and on an unrecorded one. Asterisk shows the spying channel
(``CoreShowChannels``: Application ChanSpy on the agent's leg).
Who hears the supervisor: the supervisor's phone plays a 1 kHz tone (and records nothing: a farm
phone that records sends silence), the caller's and the agent's phones record what they hear; the
tone is in neither on a listen, in the agent's only on a whisper, in both on a barge. A barging
supervisor hears both parties (the agent's phone plays a 700 Hz tone then).
The agent's state and the call's record are as they would be without the supervisor. A supervisor
of another queue is refused, and so are a phone that is no supervisor's, an unknown call and a call
nobody is talking on.
"""

from __future__ import annotations

import asyncio
import math
import os
import struct
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from acd_process import AGENTS, CONFIG, QUEUES, acd_command, api, eventually, status
from e2e_stack import RECORDINGS_DIR, PbxStack, read_secrets, user_event

from acd.ami.identity import call_id_for
from acd.ami.originate import originate_action
from acd.ami.wire import FrameDecoder, encode_action
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess, agents_toml

ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
TONE = 440  # the caller's
AGENT_TONE = 700  # the agent's
WHISPER_TONE = 1000  # the supervisor's
HEARD = 1000  # a tone's level (tone_level) in what a phone recorded when it was heard
NOT_HEARD = 200  # ... and at most this when it was not
SUPERVISORS = """
[[supervisors]]
endpoint = "supervisor1"
queues = ["billing"]

[[supervisors]]
endpoint = "supervisor2"
queues = ["support"]
"""


@pytest.fixture
def monitor_acd(pbx_stack: PbxStack, tmp_path: Path) -> Iterator[AcdProcess]:
    """The e2e ACD with the two supervisors' phones and the originate-only AMI user's secret."""
    info = pbx_stack.pbx
    secrets = read_secrets(pbx_stack.secrets_file)
    env = {"ACD_AMI_SECRET": info.secret, "ACD_AMI_ORIGINATE_SECRET": secrets["ACD_AMI_ORIGINATE_SECRET"]}

    def config(http_port: int) -> str:
        text = CONFIG.format(
            ami_port=info.port, ami_user=info.user, http_port=http_port, data_dir=tmp_path, recordings=RECORDINGS_DIR
        )
        return text + "\n" + QUEUES + agents_toml(AGENTS) + SUPERVISORS

    service = AcdProcess(tmp_path, config, env)
    service.start()
    try:
        yield service
    finally:
        code = service.stop()
        log_tail = service.tail()
        EmbeddedPostgres(tmp_path / "pg").stop()
        assert code == 0, f"acd exited with {code} on SIGTERM:\n{log_tail}"


@pytest.fixture
async def ready_acd(monitor_acd: AcdProcess, pbx_ami: AmiClient, farm: Farm) -> AsyncIterator[AcdProcess]:
    """The ACD once its heartbeat is on the PBX and no channel of an earlier test is left."""

    async def heartbeat_fresh() -> bool:
        reply = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_HEARTBEAT"})
        value = reply[0].get("Value", "")
        return value.isdigit() and time.time() - int(value) < 3

    await eventually(heartbeat_fresh, 10, "the new ACD's heartbeat on the PBX")
    await eventually(lambda: not_busy(pbx_ami), 10, "no channel left on the PBX")
    yield monitor_acd
    for n in (1, 2):
        await farm.set_supervisor(f"supervisor{n}")
    for agent in ("agent1", "agent5"):
        await farm.set_agent(agent, "answer", delay=1, talk=3)


async def not_busy(pbx: AmiClient) -> bool:
    reply = await pbx.action({"Action": "CoreShowChannels"})
    return not [m for m in reply if m.get("Event") == "CoreShowChannel"]


# (queue, its number, the agent who answers, the queue's supervisor): billing records its calls
# (MixMonitor on the agent's leg), support does not (the agent's leg could be bridged natively).
BILLING = ("billing", "200", "agent1", "supervisor1")
SUPPORT = ("support", "300", "agent5", "supervisor2")


async def talking_call(
    acd: AcdProcess,
    farm: Farm,
    pbx: AmiClient,
    line: tuple[str, str, str, str] = BILLING,
    *,
    agent_tone: int | None = None,
    caller_record: int | None = None,
) -> tuple[str, str, str]:
    """The line's agent logs in and answers a caller of its queue; (call id, the agent's channel, the
    farm's call id of the caller). The agent's phone records what it hears, or plays ``agent_tone``
    instead; the caller plays TONE, or records what it hears for ``caller_record`` s instead (a farm
    phone that records sends silence)."""
    queue, number, agent, _ = line
    await farm.set_agent(agent, "answer", delay=1, talk=40, record=agent_tone is None, tone=agent_tone)
    code, body = acd.post(f"/api/v1/agents/{agent}/login")
    assert code == 200, body
    await eventually(lambda: acd.agent_state(agent) == "ready", 10, f"{agent} ready")
    mark = pbx.mark()
    tone = TONE if caller_record is None else None
    caller = await farm.place_call(number, patience_seconds=60, tone_hz=tone, record_seconds=caller_record)
    enqueue = await pbx.wait_event(user_event("AcdEnqueue", AcdQueue=queue), 15, mark)
    answered = await pbx.wait_event(user_event("AcdAnswered", AcdAgent=agent), 20, mark)
    await eventually(lambda: acd.agent_state(agent) == "on_call", 10, f"{agent} on the call")
    return call_id_for(enqueue["Uniqueid"]), answered["Channel"], caller


async def spies(pbx: AmiClient, agent_channel: str) -> list[dict[str, str]]:
    """The PBX's channels running ChanSpy on ``agent_channel``."""
    reply = await pbx.action({"Action": "CoreShowChannels"})
    return [
        m
        for m in reply
        if m.get("Event") == "CoreShowChannel"
        and m.get("Application") == "ChanSpy"
        and m.get("ApplicationData", "").split(",")[0] == agent_channel
    ]


def samples_of(recording: str, at_least: float = 1.0) -> tuple[list[int], int]:
    """The 16-bit samples and the rate of a WAV a farm phone wrote (a path inside the farm's root)."""
    path = ROOT / recording.lstrip("/")
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, (wav.getsampwidth(), wav.getnchannels())
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    samples = list(struct.unpack(f"<{len(raw) // 2}h", raw))
    assert len(samples) >= at_least * rate, f"{path} holds {len(samples)} samples, less than {at_least} s"
    return samples, rate


def tone_level(samples: list[int], rate: int, hz: float) -> float:
    """The loudest half second's amplitude at ``hz`` (Goertzel): about the sine's peak when present."""
    size = rate // 2
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    best = 0.0
    for start in range(0, len(samples) - size + 1, size):
        s1 = s2 = 0.0
        for x in samples[start : start + size]:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        best = max(best, 2 * math.sqrt(max(power, 0.0)) / size)
    return best


async def supervisor_token(acd: AcdProcess, queue: str) -> str:
    return await acd_command(acd, "tokens", "add", "--role", "supervisor", "--queue", queue, "--label", f"{queue} sup")


async def check_monitor(
    acd: AcdProcess,
    farm: Farm,
    pbx: AmiClient,
    mode: str,
    options: str,
    line: tuple[str, str, str, str] = BILLING,
    *,
    agent_speaks: bool = False,
) -> None:
    """The supervisor's phone hears the caller (TONE); with ``agent_speaks`` the agent's phone plays
    AGENT_TONE and the supervisor hears it too, else the agent's phone records what it hears and the
    agent is shown to hear the caller the whole time."""
    queue, _, agent, supervisor = line
    mark = farm.mark()
    call_id, agent_channel, _ = await talking_call(
        acd, farm, pbx, line, agent_tone=AGENT_TONE if agent_speaks else None
    )
    agent_recording = None
    if not agent_speaks:
        agent_recording = await farm.wait_user_event("FarmAgentRecording", 5, mark, FarmAgent=agent)
    token = await supervisor_token(acd, queue)
    await farm.set_supervisor(supervisor, delay=1, record=5)
    before = status(acd)["agents"][agent]
    farm_mark = farm.mark()

    code, body = api(acd, "POST", f"/calls/{call_id}/monitor", token, {"mode": mode, "supervisor_endpoint": supervisor})
    assert code == 202, body
    assert body["monitor"] == {"call": call_id, "mode": mode, "supervisor_endpoint": supervisor}

    answered = await farm.wait_user_event("FarmSupervisorAnswered", 15, farm_mark, FarmSupervisor=supervisor)
    spying = await eventually(lambda: spies(pbx, agent_channel), 10, f"a ChanSpy on {agent_channel}")
    assert len(spying) == 1
    assert spying[0]["ApplicationData"] == f"{agent_channel},{options}"
    assert spying[0]["Channel"].startswith(f"Local/{supervisor}@acd-monitor-")
    during = status(acd)["agents"][agent]
    assert during["state"] == "on_call" and during["call_id"] == before["call_id"] == call_id

    await farm.wait_user_event("FarmSupervisorRecorded", 15, farm_mark, FarmSupervisor=supervisor)
    samples, rate = samples_of(answered["FarmRecording"])
    caller_heard = tone_level(samples, rate, TONE)
    assert caller_heard > HEARD, f"the supervisor did not hear the caller's {TONE} Hz tone ({caller_heard:.0f})"
    if agent_speaks:
        agent_heard = tone_level(samples, rate, AGENT_TONE)
        print(f"{mode}: the supervisor heard the caller at {caller_heard:.0f}, the agent at {agent_heard:.0f}")
        assert agent_heard > HEARD, f"the supervisor did not hear the agent's {AGENT_TONE} Hz ({agent_heard:.0f})"
    assert status(acd)["agents"][agent]["state"] == "on_call"  # the spy left; the conversation goes on

    audit = await acd.rows("SELECT action, target, status, details FROM audit_log WHERE action = 'call.monitor'")
    assert [(a["action"], a["target"], a["status"]) for a in audit] == [("call.monitor", call_id, 202)]

    agent_mark = farm.mark()
    await farm.hangup_all()  # the caller leaves: the call's record is that of a plain answered call
    await farm.wait_user_event("FarmAgentHangup", 10, agent_mark, FarmAgent=agent)
    if agent_recording is None:
        return
    # The agent kept hearing the caller while the spy was attached: the agent's phone recorded from its
    # answer to the hangup, so at least as long as the supervisor's recording (all of it while the
    # caller's tone played), and the caller's tone is in every half second from its start on.
    heard, rate = samples_of(agent_recording["FarmRecording"], at_least=0.0)
    spied = len(samples) / rate
    quiet = quiet_windows(heard, rate, TONE)
    print(f"agent heard {len(heard) / rate:.1f} s (the spy {spied:.1f} s); no caller in windows {quiet}")
    assert len(heard) / rate >= spied, f"the agent's phone heard {len(heard) / rate:.1f} s, less than {spied:.1f}"
    assert not quiet, f"the agent's phone lost the caller's {TONE} Hz tone at {quiet} s"


# who hears the supervisor's phone, by mode: ChanSpy's whisper (w) speaks to the spied-on agent's leg
# only, its barge (B) to both parties of the call, its listen to nobody
SUPERVISOR_HEARD_BY = {"listen": set(), "whisper": {"agent"}, "barge": {"agent", "caller"}}


async def check_supervisor_heard(acd: AcdProcess, farm: Farm, pbx: AmiClient, mode: str, options: str) -> None:
    """The supervisor's phone plays WHISPER_TONE (and records nothing, so the tone goes out); the
    caller's and the agent's phones record what they hear: each hears the supervisor exactly when
    the mode says (SUPERVISOR_HEARD_BY)."""
    queue, _, agent, supervisor = BILLING
    mark = farm.mark()
    call_id, agent_channel, caller = await talking_call(acd, farm, pbx, BILLING, caller_record=40)
    agent_recording = await farm.wait_user_event("FarmAgentRecording", 5, mark, FarmAgent=agent)
    caller_recording = await farm.wait_user_event("FarmCallerRecording", 5, mark, FarmCallId=caller)
    token = await supervisor_token(acd, queue)
    await farm.set_supervisor(supervisor, delay=1, record=5, tone=WHISPER_TONE, speak=True)
    farm_mark = farm.mark()
    code, body = api(acd, "POST", f"/calls/{call_id}/monitor", token, {"mode": mode, "supervisor_endpoint": supervisor})
    assert code == 202, body
    await farm.wait_user_event("FarmSupervisorAnswered", 15, farm_mark, FarmSupervisor=supervisor)
    spying = await eventually(lambda: spies(pbx, agent_channel), 10, f"a ChanSpy on {agent_channel}")
    assert spying[0]["ApplicationData"] == f"{agent_channel},{options}"
    await farm.wait_user_event("FarmSupervisorRecorded", 15, farm_mark, FarmSupervisor=supervisor)
    await asyncio.sleep(0.5)
    agent_mark = farm.mark()
    await farm.hangup_all()
    await farm.wait_user_event("FarmAgentHangup", 10, agent_mark, FarmAgent=agent)
    await farm.wait_user_event("FarmCallerHangup", 10, agent_mark, FarmCallId=caller)
    await asyncio.sleep(0.5)  # the phones' files closed
    # the loudest half second of WHISPER_TONE in what each phone recorded
    levels = {
        party: tone_level(*samples_of(recording["FarmRecording"], at_least=0.0), WHISPER_TONE)
        for party, recording in (("agent", agent_recording), ("caller", caller_recording))
    }
    print(f"{mode}: the supervisor's {WHISPER_TONE} Hz tone in what each heard: {levels}")
    for party, level in levels.items():
        if party in SUPERVISOR_HEARD_BY[mode]:
            assert level > HEARD, f"{mode}: the {party} did not hear the supervisor ({level:.0f})"
        else:
            assert level < NOT_HEARD, f"{mode}: the {party} heard the supervisor ({level:.0f})"


def quiet_windows(samples: list[int], rate: int, hz: float) -> list[float]:
    """The starts (s) of the half seconds of ``samples`` without the ``hz`` tone, from the first one
    with it (the farm's caller starts its tone a moment after the agent answers) to the end; all of
    them when the tone is never there."""
    size = rate // 2
    starts = range(0, len(samples) - size + 1, size)
    heard = [tone_level(samples[start : start + size], rate, hz) >= 1000 for start in starts]
    first = heard.index(True) if True in heard else 0
    return [start / rate for start, tone in list(zip(starts, heard, strict=True))[first:] if not tone]


async def closed(acd: AcdProcess, call_id: str) -> Any:
    rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", uuid.UUID(call_id))
    return rows[0] if rows else None


async def test_a_supervisor_listens_to_a_call_of_their_queue(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    await check_monitor(ready_acd, farm, pbx_ami, "listen", "bqESu")


async def test_a_supervisor_whispers_to_the_agent(ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> None:
    await check_monitor(ready_acd, farm, pbx_ami, "whisper", "bqESuw")


async def test_a_listening_supervisor_is_heard_by_nobody(ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> None:
    await check_supervisor_heard(ready_acd, farm, pbx_ami, "listen", "bqESu")


async def test_a_whispering_supervisor_is_heard_by_the_agent_and_not_the_caller(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    await check_supervisor_heard(ready_acd, farm, pbx_ami, "whisper", "bqESuw")


async def test_a_barging_supervisor_hears_both_parties(ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> None:
    await check_monitor(ready_acd, farm, pbx_ami, "barge", "bqESuB", agent_speaks=True)


async def test_a_barging_supervisor_is_heard_by_both_parties(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    await check_supervisor_heard(ready_acd, farm, pbx_ami, "barge", "bqESuB")


async def test_a_supervisor_listens_to_an_unrecorded_call(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """No MixMonitor on the agent's leg: the agent keeps hearing the caller once ChanSpy attaches."""
    await check_monitor(ready_acd, farm, pbx_ami, "listen", "bqESu", line=SUPPORT)


async def test_a_supervisor_whispers_on_an_unrecorded_call(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    await check_monitor(ready_acd, farm, pbx_ami, "whisper", "bqESuw", line=SUPPORT)


async def test_monitoring_is_refused_outside_the_supervisors_queues(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = ready_acd
    call_id, agent_channel, _ = await talking_call(acd, farm, pbx_ami)
    support = await supervisor_token(acd, "support")
    billing = await supervisor_token(acd, "billing")
    farm_mark = farm.mark()

    def monitor(token: str, body: dict[str, str], call: str = call_id) -> tuple[int, Any]:
        return api(acd, "POST", f"/calls/{call}/monitor", token, body)

    code, body = monitor(support, {"mode": "listen", "supervisor_endpoint": "supervisor2"})
    assert (code, body["error_id"]) == (403, "forbidden"), body
    # a billing supervisor's token with the support supervisor's phone: that phone is for support only
    code, body = monitor(billing, {"mode": "listen", "supervisor_endpoint": "supervisor2"})
    assert (code, body["error_id"]) == (403, "forbidden"), body
    code, body = monitor(billing, {"mode": "listen", "supervisor_endpoint": "agent2"})
    assert (code, body["error_id"]) == (400, "invalid-input") and "supervisor_endpoint" in body["details"]["fields"]
    code, body = monitor(billing, {"mode": "spy", "supervisor_endpoint": "supervisor1"})
    assert (code, body["error_id"]) == (400, "invalid-input") and "mode" in body["details"]["fields"]
    code, body = monitor(acd.admin_token, {"mode": "listen", "supervisor_endpoint": "supervisor1"}, str(uuid.uuid4()))
    assert (code, body["error_id"]) == (404, "no-such-call"), body

    agent_token = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent1")
    code, body = monitor(agent_token, {"mode": "listen", "supervisor_endpoint": "supervisor1"})
    assert code == 403, body

    # nobody rang, nothing spies, the agent talks on
    assert not await spies(pbx_ami, agent_channel)
    assert not [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmSupervisorRinging"]
    assert acd.agent_state("agent1") == "on_call"
    audit = await acd.rows("SELECT status FROM audit_log WHERE action = 'call.monitor' ORDER BY at")
    assert [a["status"] for a in audit] == [403, 403, 404]

    # a caller still waiting (nobody to talk to): 409
    await farm.set_agent("agent1", "answer", delay=1, talk=3)
    mark = pbx_ami.mark()
    await farm.place_call("300", patience_seconds=30)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="support"), 15, mark)
    code, body = monitor(
        acd.admin_token, {"mode": "barge", "supervisor_endpoint": "supervisor2"}, call_id_for(enqueue["Uniqueid"])
    )
    assert (code, body["error_id"]) == (409, "invalid-transition"), body


async def test_a_supervisors_phone_listens_by_feature_code_within_its_queues(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """supervisor1 (billing) dials *561 and is joined to agent1's billing call; supervisor2 (support)
    dialling the same code is refused: nothing spies, and its phone is hung up after the prompt."""
    acd = ready_acd
    call_id, agent_channel, _ = await talking_call(acd, farm, pbx_ami)

    pbx_mark = pbx_ami.mark()
    await farm.supervisor_dial("supervisor2", "*561")
    hangup = await pbx_ami.wait_event(
        lambda e: e.get("Event") == "Hangup" and e.get("Channel", "").startswith("PJSIP/supervisor2-"), 20, pbx_mark
    )
    asked = [e for e in pbx_ami.events(pbx_mark) if e.get("UserEvent") == "AcdMonitor"]
    assert [(e["AcdSupervisor"], e["AcdAgentNumber"], e["AcdMode"]) for e in asked] == [("supervisor2", "1", "listen")]
    assert not [e for e in pbx_ami.events(pbx_mark) if e.get("UserEvent") == "AcdMonitorJoined"], hangup
    assert not await spies(pbx_ami, agent_channel)

    pbx_mark = pbx_ami.mark()
    await farm.supervisor_dial("supervisor1", "*561")
    spying = await eventually(lambda: spies(pbx_ami, agent_channel), 15, f"a ChanSpy on {agent_channel}")
    assert spying[0]["Channel"].startswith("PJSIP/supervisor1-")
    assert spying[0]["ApplicationData"] == f"{agent_channel},bqESu"
    joined = await pbx_ami.wait_event(user_event("AcdMonitorJoined", AcdAgent="agent1"), 5, pbx_mark)
    assert joined["AcdMode"] == "listen"
    assert acd.agent_state("agent1") == "on_call"

    async def audited() -> list[tuple[str, str, int]] | None:
        rows = await acd.rows(
            "SELECT token_id, target, status FROM audit_log WHERE action = 'call.monitor' ORDER BY at"
        )
        return [(r["token_id"], r["target"], r["status"]) for r in rows] if len(rows) == 2 else None

    assert await eventually(audited, 5, "both requests in the audit log") == [
        ("phone:supervisor2", "agent:agent1", 403),
        ("phone:supervisor1", call_id, 202),
    ]


async def as_monitor_user(secret: str, *actions: dict[str, str | list[str]]) -> list[dict[str, str]]:
    """Log in as the originate-only AMI user ``acd-monitor`` and send ``actions``; their replies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", 5038)
    decoder = FrameDecoder()
    replies: list[dict[str, str]] = []
    try:
        login: dict[str, str | list[str]] = {
            "Action": "Login",
            "Username": "acd-monitor",
            "Secret": secret,
            "Events": "off",
        }
        for n, action in enumerate([login, *actions]):
            writer.write(encode_action({**action, "ActionID": f"t{n}"}))
            while not any(m.get("ActionID") == f"t{n}" for m in replies):
                data = await asyncio.wait_for(reader.read(4096), 10)
                assert data, "the PBX closed the AMI connection"
                replies += [m for m in decoder.feed(data) if "Response" in m]
    finally:
        writer.close()
    assert replies[0]["Response"] == "Success", replies[0]
    return replies[1:]


async def test_the_originate_user_can_do_nothing_else_and_the_dialplan_refuses_what_it_is_not_for(
    pbx_stack: PbxStack, pbx_ami: AmiClient, farm: Farm
) -> None:
    """What a thief of the ``acd-monitor`` secret gets (docs/security.md): no other action, no
    program, and acd-monitor itself rings nothing but a supervisor's phone and spies on nothing but an
    agent's leg of an ACD call."""
    secret = read_secrets(pbx_stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]
    refused = await as_monitor_user(
        secret,
        {"Action": "Getvar", "Variable": "ACD_TOKEN"},
        {"Action": "Command", "Command": "dialplan show globals"},
        {"Action": "Originate", "Channel": "Local/s@acd-monitor", "Application": "System", "Data": "id"},
        {"Action": "Originate", "Channel": "Local/s@acd-monitor", "Application": "MixMonitor", "Data": "/tmp/x.wav"},
    )
    assert [r["Response"] for r in refused] == ["Error"] * 4, refused
    assert [r["Message"] for r in refused[:2]] == ["Permission denied"] * 2, refused
    assert all("forbidden" in r["Message"].lower() for r in refused[2:]), refused

    farm_mark, pbx_mark = farm.mark(), pbx_ami.mark()
    rung = await as_monitor_user(
        secret,
        # an agent's phone is no supervisor's: the far half dials nothing
        originate_action("agent1", "listen", "PJSIP/agent2-00000001", "a1"),
        # a supervisor's phone rings, but the trunk's leg is no agent's: nothing is spied on
        originate_action("supervisor1", "listen", "PJSIP/trunk-00000001", "a2"),
    )
    assert [r["Response"] for r in rung] == ["Success", "Success"], rung
    await farm.wait_user_event("FarmSupervisorAnswered", 15, farm_mark, FarmSupervisor="supervisor1")
    await eventually(lambda: not_busy(pbx_ami), 20, "the refused calls gone from the PBX")
    assert not [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
    assert not [e for e in pbx_ami.events(pbx_mark) if e.get("UserEvent") == "AcdMonitorJoined"]
