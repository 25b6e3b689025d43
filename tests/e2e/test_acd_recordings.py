"""Call recordings on the real PBX (docs/records.md, "Recordings"; docs/dialplan.md, "Recordings").

A farm caller who plays a 1 kHz tone once talking is answered by a farm agent in billing (a queue that
records): the PBX's MixMonitor file is there, its length (measured with sox) is the talk time of the
records within 0.5 s, the tone is in it (a Goertzel detector on its samples), its checksum and length
are in the records, and the API gives it to an admin and billing's supervisor, never to an agent nor
to another queue's supervisor, each listen audited. Pausing from the agent's phone (*7 / *8) and from
the API leaves silence where the records say it was paused. A call of support (not recording) leaves
no file. A recorded caller transferred blind to another recording queue and answered there has one
file per stay, each its stay's talk, neither overwritten. sox is part of the project's install (Makefile, .ci/run): without it these tests fail.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import json
import math
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
from acd_process import acd_command, api, eventually, login
from e2e_stack import RECORDINGS_DIR, user_event

from acd.ami.identity import call_id_for
from acd.recordings import file_name
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

TONE_HZ = 1000
RATE_WINDOW = 0.2  # seconds of samples per detector window


def sox_seconds(path: Path) -> float:
    """The file's length as sox measures it (``soxi -D``)."""
    soxi = shutil.which("soxi")
    assert soxi is not None, "sox is not installed: make test installs it (apt-get install sox)"
    done = subprocess.run([soxi, "-D", str(path)], capture_output=True, text=True, timeout=30, check=True)
    return float(done.stdout.strip())


def samples(path: Path) -> tuple[array.array[int], int]:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, "MixMonitor writes 16-bit mono"
        data = array.array("h", w.readframes(w.getnframes()))
        if sys.byteorder == "big":
            data.byteswap()
        return data, w.getframerate()


def tone_share(window: array.array[int], rate: int, hz: float = TONE_HZ) -> tuple[float, float]:
    """(RMS, share of the window's energy at ``hz``) by the Goertzel algorithm: ~1 for a pure tone."""
    n = len(window)
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    energy = 0.0
    for x in window:
        s1, s2 = x + coeff * s1 - s2, s1
        energy += x * x
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    rms = math.sqrt(energy / n) if n else 0.0
    return rms, (power / (n / 2 * energy) if energy else 0.0)


def windows(data: array.array[int], rate: int, start: float, end: float) -> list[array.array[int]]:
    size = int(RATE_WINDOW * rate)
    first, last = int(start * rate), min(int(end * rate), len(data))
    return [data[i : i + size] for i in range(first, last - size + 1, size)]


def tone_in(data: array.array[int], rate: int, start: float, end: float) -> bool:
    found = [tone_share(w, rate) for w in windows(data, rate, start, end)]
    return bool(found) and all(rms > 100 and share > 0.5 for rms, share in found)


def tone_map(data: array.array[int], rate: int, until: float) -> str:
    """Where the file holds the tone (T), silence (.) or something else (?), a character per 0.25 s."""
    marks = []
    for k in range(int(until / 0.25)):
        if tone_in(data, rate, k * 0.25, (k + 1) * 0.25):
            marks.append("T")
        else:
            marks.append("." if silent(data, rate, k * 0.25, (k + 1) * 0.25) else "?")
    return "".join(marks)


def silent(data: array.array[int], rate: int, start: float, end: float) -> bool:
    found = [tone_share(w, rate)[0] for w in windows(data, rate, start, end)]
    return bool(found) and all(rms < 20 for rms in found)


def http_get(acd: AcdProcess, path: str, token: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(
        f"{acd.base}/api/v1{path}", headers={"Authorization": f"Bearer {token}", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def api_post(acd: AcdProcess, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{acd.base}/api/v1{path}",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def answered_call(
    acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, did: str, agent: str, talk: float
) -> tuple[uuid.UUID, str, dict[str, str]]:
    """A farm caller playing the tone, answered by ``agent``: (call id, caller Uniqueid, FarmAgentAnswered)."""
    await farm.set_agent(agent, "answer", delay=1, talk=talk)
    await login(acd, agent)
    farm_mark, pbx_mark = farm.mark(), pbx_ami.mark()
    number = f"6{uuid.uuid4().int % 10**9:09d}"
    await farm.place_call(did, patience_seconds=60, caller_id=number, tone_hz=TONE_HZ)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 15, pbx_mark)
    answered = await farm.wait_user_event("FarmAgentAnswered", 15, farm_mark, FarmAgent=agent)
    return uuid.UUID(call_id_for(enqueue["Uniqueid"])), enqueue["Uniqueid"], answered


async def closed(acd: AcdProcess, call_id: uuid.UUID) -> Any:
    async def probe() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    return await eventually(probe, 40, "the interaction closed in PostgreSQL")


async def recording_row(acd: AcdProcess, call_id: uuid.UUID) -> Any:
    async def probe() -> Any:
        rows = await acd.rows("SELECT * FROM recordings WHERE id = $1", call_id)
        return rows[0] if rows else None

    return await eventually(probe, 30, "the recording's record in PostgreSQL")


async def test_a_recorded_call_holds_the_talk_and_the_callers_tone_and_only_staff_of_its_queue_hear_it(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    call_id, uniqueid, _ = await answered_call(acd, farm, pbx_ami, "200", "agent1", talk=6)
    interaction = await closed(acd, call_id)
    row = await recording_row(acd, call_id)

    path = Path(RECORDINGS_DIR) / row["file"]
    # the agent leg's Uniqueid names it, not the caller's
    assert row["file"] != file_name(uniqueid) and path.is_file()
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    measured = sox_seconds(path)
    assert abs(measured - row["seconds"]) < 0.05, (measured, row["seconds"])
    talk = (interaction["ended_at"] - interaction["answered_at"]).total_seconds()
    print(f"recording {measured:.3f} s (sox), talk time {talk:.3f} s (records)")
    assert abs(measured - talk) <= 0.5, f"recording {measured:.3f} s, talk time {talk:.3f} s"
    data, rate = samples(path)
    assert tone_in(data, rate, 1.5, measured - 1.0), "the caller's 1 kHz tone is not in the recording"

    admin = acd.admin_token
    supervisor = await acd_command(acd, "tokens", "add", "--role", "supervisor", "--queue", "billing")
    elsewhere = await acd_command(acd, "tokens", "add", "--role", "supervisor", "--queue", "support")
    agent = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent1")
    target = f"/interactions/{call_id}/recording"
    status, body, headers = http_get(acd, target, admin)
    assert status == 200 and headers["Content-Type"] == "audio/wav" and body == path.read_bytes()
    status, body, _ = http_get(acd, target, supervisor, {"Range": "bytes=0-99"})
    assert status == 206 and body == path.read_bytes()[:100]
    assert http_get(acd, target, elsewhere)[0] == 403
    assert http_get(acd, target, agent)[0] == 403
    audit = await acd.rows(
        "SELECT role, status FROM audit_log WHERE action = 'recording.listen' AND target = $1 ORDER BY id", str(call_id)
    )
    assert [(a["role"], a["status"]) for a in audit] == [
        ("admin", 200),
        ("supervisor", 200),  # a range of it: the listen was granted
        ("supervisor", 403),
        ("agent", 403),
    ]


async def test_pauses_from_the_phone_and_the_api_leave_silence_where_the_records_say(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    call_id, _, answered = await answered_call(acd, farm, pbx_ami, "200", "agent1", talk=20)
    await asyncio.sleep(3)
    await farm.send_dtmf(answered["Channel"], "*7")  # the agent's phone: pause
    await asyncio.sleep(3)
    await farm.send_dtmf(answered["Channel"], "*8")  # resume
    await asyncio.sleep(2)
    agent = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent1")
    status, body = api_post(acd, f"/calls/{call_id}/recording", agent, {"action": "pause"})
    assert status == 200 and body["recording"] == "paused", body
    await asyncio.sleep(2)
    status, body = api_post(acd, f"/calls/{call_id}/recording", acd.admin_token, {"action": "resume"})
    assert status == 200 and body["recording"] == "recording", body

    await closed(acd, call_id)
    row = await recording_row(acd, call_id)
    pauses = await acd.rows(
        "SELECT start_offset, end_offset FROM recording_pauses WHERE interaction_id = $1 ORDER BY start_offset",
        call_id,
    )
    assert len(pauses) == 2, pauses
    path = Path(RECORDINGS_DIR) / row["file"]
    data, rate = samples(path)
    assert abs(len(data) / rate - row["seconds"]) < 0.05
    for pause in pauses:
        start, end = pause["start_offset"], pause["end_offset"]
        print(f"pause {start:.2f}..{end:.2f} s of {row['seconds']:.2f} s: silent inside, the tone around it")
        assert end - start > 1.0, pauses
        assert silent(data, rate, start + 0.5, end - 0.5), f"no silence in the pause {start:.2f}..{end:.2f} s"
        assert tone_in(data, rate, start - 1.2, start - 0.5), f"no tone before the pause at {start:.2f} s"
        assert tone_in(data, rate, end + 0.5, end + 1.2), f"no tone after the pause at {end:.2f} s"
    audit = await acd.rows("SELECT action, role, status FROM audit_log WHERE target = $1 ORDER BY id", str(call_id))
    assert [(a["action"], a["role"], a["status"]) for a in audit] == [
        ("recording.pause", "agent", 200),
        ("recording.resume", "admin", 200),
    ]


async def test_a_queue_that_does_not_record_leaves_no_file(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    before = recordings_on_disk()
    call_id, _, _ = await answered_call(acd, farm, pbx_ami, "300", "agent5", talk=3)
    interaction = await closed(acd, call_id)
    assert interaction["outcome"] == "answered"
    await asyncio.sleep(2)  # the time a recording's file takes to close
    assert recordings_on_disk() == before
    assert await acd.rows("SELECT id FROM recordings WHERE id = $1", call_id) == []
    status, _ = api_post(acd, f"/calls/{call_id}/recording", acd.admin_token, {"action": "pause"})
    assert status == 404


async def transferred_to_support(acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> tuple[uuid.UUID, str, Any, Any]:
    """A billing caller answered by agent1, transferred blind to support by the API after 4 s and
    answered there by agent5, who talks 5 s: (call id, caller Uniqueid, billing stay, support stay)."""
    await farm.set_agent("agent5", "answer", delay=1, talk=5)
    await login(acd, "agent5")
    mark = pbx_ami.mark()
    call_id, uniqueid, _ = await answered_call(acd, farm, pbx_ami, "200", "agent1", talk=40)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
    await asyncio.sleep(4)  # agent1's talk
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "support"}})
    assert status == 202, body
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent5"), 20, mark)

    second = await closed(acd, call_id)  # the call's id is its last stay's: support, agent5

    async def first_stay() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", uniqueid, call_id)
        return rows[0] if rows else None

    first = await eventually(first_stay, 15, "the billing stay agent1 answered")
    assert (first["queue"], first["agent_id"], first["end_reason"]) == ("billing", "agent1", "transferred")
    assert (second["queue"], second["agent_id"]) == ("support", "agent5")
    return call_id, uniqueid, first, second


def recordings_on_disk() -> set[Path]:
    return set(Path(RECORDINGS_DIR).glob("*.wav"))


def check_recording(acd: AcdProcess, stay: Any, row: Any) -> Path:
    """The stay's file: its length (sox) is the stay's talk, the row's length and checksum are its
    own, and the API serves it for that stay."""
    path = Path(RECORDINGS_DIR) / str(row["file"])
    measured = sox_seconds(path)
    talk = (stay["ended_at"] - stay["answered_at"]).total_seconds()
    print(f"{stay['agent_id']}: recording {measured:.3f} s (sox), talk time {talk:.3f} s (records)")
    assert abs(measured - talk) <= 0.5, f"{stay['agent_id']}: recording {measured:.3f} s, talk {talk:.3f} s"
    assert abs(measured - row["seconds"]) < 0.05, (measured, row["seconds"])
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    status, data, _ = http_get(acd, f"/interactions/{stay['id']}/recording", acd.admin_token)
    assert status == 200 and data == path.read_bytes()
    return path


async def test_a_recorded_caller_transferred_to_another_recording_queue_has_one_file_per_stay(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    status, body = api(acd, "PATCH", "/queues/support", acd.admin_token, {"record": True})
    assert status == 200, body
    call_id, _, first, second = await transferred_to_support(acd, farm, pbx_ami)
    rows = [await recording_row(acd, first["id"]), await recording_row(acd, call_id)]
    assert rows[0]["file"] != rows[1]["file"], "both stays' recordings in one file"
    for stay, row in zip((first, second), rows, strict=True):
        check_recording(acd, stay, row)  # after the second stay ended: the first file is still its own


async def test_a_recorded_caller_transferred_to_a_queue_that_does_not_record_is_recorded_in_the_first_stay_only(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    before = recordings_on_disk()
    call_id, _, first, _ = await transferred_to_support(acd, farm, pbx_ami)
    path = check_recording(acd, first, await recording_row(acd, first["id"]))
    await asyncio.sleep(2)  # the time a recording's file takes to close
    assert await acd.rows("SELECT id FROM recordings WHERE id = $1", call_id) == []
    assert recordings_on_disk() - before == {path}, "support's stay was recorded"


async def paused_twice(acd: AcdProcess, farm: Farm, call_id: uuid.UUID, agent: str, channel: str) -> None:
    """The agent pauses (*7) and resumes (*8) from the phone, then by the API (the agent's token),
    and an admin resumes: each stretch about 3 s, 2 s of talk between."""
    await farm.send_dtmf(channel, "*7")
    await asyncio.sleep(3)
    await farm.send_dtmf(channel, "*8")
    await asyncio.sleep(2)
    token = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", agent)
    status, body = api_post(acd, f"/calls/{call_id}/recording", token, {"action": "pause"})
    assert status == 200 and body["recording"] == "paused", body
    await asyncio.sleep(3)
    status, body = api_post(acd, f"/calls/{call_id}/recording", acd.admin_token, {"action": "resume"})
    assert status == 200 and body["recording"] == "recording", body


async def check_pauses(acd: AcdProcess, stay_id: uuid.UUID, row: Any, count: int = 2, lost: float = 0.0) -> None:
    """The stay's pauses: ``count`` rows, each silent in the file, the caller's tone just before and after.

    ``lost``: seconds of audio the file is missing before the pauses (frames Asterisk drops while it
    moves a consulted leg between bridges): a pause's place in the file is then up to that much
    earlier than its offset from the recording's start, and the windows checked allow for it."""
    pauses = await acd.rows(
        "SELECT start_offset, end_offset FROM recording_pauses WHERE interaction_id = $1 ORDER BY start_offset",
        stay_id,
    )
    assert len(pauses) == count, pauses
    data, rate = samples(Path(RECORDINGS_DIR) / row["file"])
    assert abs(len(data) / rate - row["seconds"]) < 0.05
    for pause in pauses:
        start, end = pause["start_offset"], pause["end_offset"]
        print(f"pause {start:.2f}..{end:.2f} s of {row['seconds']:.2f} s: silent inside, the tone around it")
        assert end - start > 1.0, pauses
        assert silent(data, rate, start + 0.5, end - lost - 0.5), f"no silence in the pause {start:.2f}..{end:.2f} s"
        assert tone_in(data, rate, start - lost - 1.2, start - lost - 0.5), (
            f"no tone before the pause at {start:.2f} s; tone by 0.25 s: {tone_map(data, rate, end + 1.5)}"
        )
        assert tone_in(data, rate, end + 0.5, end + 1.2), f"no tone after the pause at {end:.2f} s"


async def test_the_consulted_agent_records_the_handed_over_call_and_pauses_it_from_the_phone_and_the_api(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 answers a billing caller (recorded) and transfers attended to agent5 (API: consult, then
    complete). agent5's leg records from the consult's answer into a file of its own; after the
    handover agent5 pauses and resumes from the phone (*7 / *8) and the API: agent5's stay has its
    recording and pauses, silent where they say, and agent1's stay keeps its own file."""
    acd = live_acd
    await farm.set_agent("agent5", "answer", delay=1, talk=26, record=False)
    await login(acd, "agent5")
    farm_mark, pbx_mark = farm.mark(), pbx_ami.mark()
    call_id, uniqueid, _ = await answered_call(acd, farm, pbx_ami, "200", "agent1", talk=60)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
    await asyncio.sleep(2)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "attended", "target": {"agent": "agent5"}})
    assert status == 202, body
    consulted = await farm.wait_user_event("FarmAgentAnswered", 20, farm_mark, FarmAgent="agent5")
    recording = await pbx_ami.wait_event(user_event("AcdConsultRecording", AcdTarget="agent5"), 10, pbx_mark)
    assert recording["Channel"].startswith("PJSIP/agent5-")
    await asyncio.sleep(2)  # the consult
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 15, pbx_mark)
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")
    await asyncio.sleep(3)  # the caller's tone in agent5's file for a while before the first pause
    await paused_twice(acd, farm, call_id, "agent5", consulted["Channel"])

    second = await closed(acd, call_id)  # agent5's stay, ended when agent5's phone hung up
    assert second["agent_id"] == "agent5"
    row = await recording_row(acd, call_id)
    assert row["file"] == file_name(recording["Uniqueid"])  # the consulted leg's own file
    first = (await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", uniqueid, call_id))[0]
    assert (first["agent_id"], first["end_reason"]) == ("agent1", "transferred")
    first_row = await recording_row(acd, first["id"])
    assert first_row["file"] != row["file"]
    # agent5's file began at their answer of the consult, before their stay: it runs to the stay's end
    path = Path(RECORDINGS_DIR) / row["file"]
    measured = sox_seconds(path)
    assert row["started_at"] < second["answered_at"]
    span = (second["ended_at"] - row["started_at"]).total_seconds()
    print(f"agent5: recording {measured:.3f} s (sox), consult answer to the end {span:.3f} s")
    # within 1 s: frames missed while Asterisk moves the leg from the consult's bridge into the caller's
    assert abs(measured - span) <= 1.0, (measured, span)
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    audit = await acd.rows(
        "SELECT action, role, status FROM audit_log WHERE target = $1 AND action LIKE 'recording.%' ORDER BY id",
        str(call_id),
    )
    assert [(a["action"], a["role"], a["status"]) for a in audit] == [
        ("recording.pause", "agent", 200),
        ("recording.resume", "admin", 200),
    ]
    pauses = await acd.rows("SELECT start_offset FROM recording_pauses WHERE interaction_id = $1", call_id)
    assert len(pauses) == 2, pauses
    data, rate = samples(path)
    handed_over = (second["answered_at"] - row["started_at"]).total_seconds()
    after = data[int((handed_over + 0.5) * rate) :]
    if len(after) > 5 * rate and not any(after):
        # The known Asterisk 22.10 race (docs/records.md, "Known limits"): under load, every audiohook on
        # the consulted agent's leg gets exact digital zeros from some moment of the consult on, although
        # the agent's phone hears the caller. Only that exact signature is let through, as an expected
        # failure shown in the report; anything else (a tone in the wrong place, noise) fails below.
        pytest.xfail("Asterisk 22.10: the consulted agent's leg recorded exact zeros after the handover")
    await check_pauses(acd, call_id, row, lost=max(0.0, span - measured))


async def test_a_call_taken_over_after_a_kill_is_paused_and_its_recording_recorded(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 answers a recorded billing caller; the ACD is killed (-9) and started again: it takes the
    call over from the PBX and pauses its recording by the phone and the API; the call's end writes
    the recording's row with the pauses, silent where they say."""
    acd = live_acd
    farm_mark = farm.mark()
    call_id, _, answered = await answered_call(acd, farm, pbx_ami, "200", "agent1", talk=40)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")

    async def answer_stored() -> Any:
        return await acd.rows("SELECT id FROM interactions WHERE id = $1 AND answered_at IS NOT NULL", call_id)

    await eventually(answer_stored, 10, "the answer in PostgreSQL")
    acd.stop(signal.SIGKILL)
    await asyncio.to_thread(acd.start)  # same data folder
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 20, "agent1's call taken over")
    await asyncio.sleep(1)
    await paused_twice(acd, farm, call_id, "agent1", answered["Channel"])
    hangups = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentHangup"]
    assert hangups == [], "the call ended before the pauses were done"

    stay = await closed(acd, call_id)
    assert (stay["agent_id"], stay["outcome"]) == ("agent1", "answered")
    row = await recording_row(acd, call_id)
    path = Path(RECORDINGS_DIR) / row["file"]
    measured = sox_seconds(path)
    talk = (stay["ended_at"] - stay["answered_at"]).total_seconds()
    print(f"taken over: recording {measured:.3f} s (sox), talk time {talk:.3f} s (records)")
    assert abs(measured - talk) <= 0.5, (measured, talk)
    await check_pauses(acd, call_id, row)
