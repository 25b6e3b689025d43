"""Callbacks keeping the caller's place, on the real PBX and farm (docs/dialplan.md, "Callbacks").

Three farm callers hold in billing while no agent is logged in; after ``callback_after`` the middle
one is offered a callback, presses 1, confirms the number they called from with 1, and hangs up. One
agent then logs in: they answer the first caller, then the callback (the ACD rings the agent's phone
first, through the originate-only AMI user into ``acd-callback``, then dials the caller's number,
which the farm answers), then the third caller. The callback's record is answered, never abandoned.
Taking the callback, the caller is asked for their name and says it (a tone, recorded by the PBX into
the file the ACD named); the agent's whisper plays it. A caller who says nothing: the whisper has the
number alone.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from acd_process import AGENTS, CONFIG, acd_command, api, eventually, login
from e2e_stack import RECORDINGS_DIR, PbxStack, read_secrets, run_script, user_event

from acd.ami.identity import call_id_for
from acd.callback_names import FOLDER as NAMES_FOLDER
from acd.callback_names import CallbackNames, loud_seconds
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess, agents_toml, queue_toml

QUEUES = (
    queue_toml(
        "billing",
        "{ billing = 2 }",
        sla_threshold=20,
        max_wait=300,
        wrapup=1,
        callback_after=2,
        callback_gap=5,
        scheduled_callback_priority=7,
    )
    + queue_toml("support", "{ support = 2 }", sla_threshold=30, max_wait=120, wrapup=1)
    + queue_toml("sales", "{ sales = 1 }", sla_threshold=10, max_wait=8, overflow="voicemail")
)

# seconds an agent's phone talks: the whisper ("callback", the queue spelled, the number) and the
# caller's answer come first
TALK = 30
PBX_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
PBX_LOG = PBX_ROOT / "var/log/asterisk/full"
# the callers' recorded names, as the ACD sees them (beside the recordings: its default directory)
NAMES = CallbackNames(Path(RECORDINGS_DIR).parent / NAMES_FOLDER)
NAME_FILE = "/var/spool/asterisk/acd-callback-names/{}"  # as the PBX (chrooted) plays it
NAME_HZ = 600  # the tone the farm's caller "says" as their name
WHISPER = re.compile(
    rb'\[s@acd-callback-answered:\d+\] (Playback|ExecIf)\("(?P<chan>PJSIP/agent1-[^"]*)", "(?P<arg>[^"]*)"\)'
)


def pbx_log(since: int) -> bytes:
    with PBX_LOG.open("rb") as log:
        log.seek(since)
        return log.read()


def whispered(since: int) -> list[tuple[str, str]]:
    """What the PBX played to agent1 in acd-callback-answered, from byte ``since`` of its log."""
    return [(m[1].decode(), m["arg"].decode()) for m in WHISPER.finditer(pbx_log(since))]


# the numbers a callback's caller may key in instead of their own: 65 and 8 digits (a farm caller's
# own numbers are 64...)
CALLBACK_NUMBERS = '\n[callbacks]\nallowed_numbers = ["_65XXXXXXXX"]\n'


@pytest.fixture
def callback_acd(pbx_stack: PbxStack, tmp_path: Path) -> Iterator[AcdProcess]:
    """The e2e ACD with billing offering callbacks and the originate-only AMI user's secret."""
    info = pbx_stack.pbx
    secrets = read_secrets(pbx_stack.secrets_file)
    env = {"ACD_AMI_SECRET": info.secret, "ACD_AMI_ORIGINATE_SECRET": secrets["ACD_AMI_ORIGINATE_SECRET"]}

    def config(http_port: int) -> str:
        text = CONFIG.format(
            ami_port=info.port, ami_user=info.user, http_port=http_port, data_dir=tmp_path, recordings=RECORDINGS_DIR
        )
        return text + "\n" + QUEUES + agents_toml(AGENTS) + CALLBACK_NUMBERS

    service = AcdProcess(tmp_path, config, env)
    service.start()
    try:
        yield service
    finally:
        code = service.stop()
        log_tail = service.tail()
        EmbeddedPostgres(tmp_path / "pg").stop()
        assert code == 0, f"acd exited with {code} on SIGTERM:\n{log_tail}"


async def not_busy(pbx: AmiClient) -> bool:
    reply = await pbx.action({"Action": "CoreShowChannels"})
    return not [m for m in reply if m.get("Event") == "CoreShowChannel"]


@pytest.fixture
async def ready_acd(callback_acd: AcdProcess, pbx_ami: AmiClient, farm: Farm) -> AsyncIterator[AcdProcess]:
    """The ACD once its heartbeat is on the PBX and no channel of an earlier test is left."""

    async def heartbeat_fresh() -> bool:
        reply = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_HEARTBEAT"})
        value = reply[0].get("Value", "")
        return value.isdigit() and time.time() - int(value) < 3

    await eventually(heartbeat_fresh, 10, "the new ACD's heartbeat on the PBX")
    await eventually(lambda: not_busy(pbx_ami), 10, "no channel left on the PBX")
    yield callback_acd
    await farm.hangup_all()


def numbers() -> list[str]:
    """Three callers' numbers, new for each run (the PBX keeps which numbers took a callback)."""
    base = random.randrange(10**6, 10**7)
    return [f"64{base}{n}" for n in range(3)]


async def take_callback(
    farm: Farm, pbx: AmiClient, number: str, caller_channel: str, mark: int, name_hz: int | None = None
) -> dict[str, str]:
    """The caller on ``caller_channel`` hears the offer, presses 1, confirms with 1; the AcdCallback
    event. Asked for their name, they say it (a tone of ``name_hz``), or nothing when None."""
    offered = await pbx.wait_event(user_event("AcdCallbackOffered", CallerIDNum=number), 20, mark)
    await farm.send_dtmf(caller_channel, "1")
    await pbx.wait_event(user_event("AcdCallbackConfirm", Uniqueid=offered["Uniqueid"]), 30, mark)
    await farm.send_dtmf(caller_channel, "1")
    taken = await pbx.wait_event(user_event("AcdCallback", Uniqueid=offered["Uniqueid"]), 15, mark)
    asked = await pbx.wait_event(user_event("AcdCallbackName", Uniqueid=offered["Uniqueid"]), 15, mark)
    assert asked["AcdName"] == call_id_for(offered["Uniqueid"])  # the file is named after the ACD's id
    if name_hz is not None:
        await farm.caller_speaks(number, name_hz)
    return taken


async def test_the_middle_caller_takes_a_callback_and_is_answered_second(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = ready_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    first, middle, last = numbers()
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    enqueued: dict[str, dict[str, str]] = {}
    channels: dict[str, str] = {}
    for number in (first, middle, last):
        await farm.place_call("200", patience_seconds=240, caller_id=number)
        answered = await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=number)
        channels[number] = answered["Channel"]
        enqueued[number] = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 15, pbx_mark)

    taken = await take_callback(farm, pbx_ami, middle, channels[middle], pbx_mark, name_hz=NAME_HZ)
    assert taken["AcdNumber"] == middle
    await farm.wait_user_event("FarmCallerHangup", 20, farm_mark, FarmCaller=middle)
    middle_id = call_id_for(enqueued[middle]["Uniqueid"])
    # the name they said, recorded by the PBX into the file the ACD named
    name_file = NAMES.directory / f"{middle_id}.wav"
    assert loud_seconds(name_file.read_bytes()) > 1.0
    live = acd.get("/api/v1/status")
    assert middle_id in str(live), "the callback keeps its place among the waiting calls"

    log_start = PBX_LOG.stat().st_size
    code, body = acd.post("/api/v1/agents/agent1/login")
    assert code == 200, body
    await pbx_ami.wait_event(user_event("AcdCallbackAnswered", AcdAgent="agent1"), 60, pbx_mark)
    await farm.wait_user_event("FarmCallbackAnswered", 30, farm_mark, FarmNumber=middle)
    # the agent heard "callback", billing (no recorded acd-queue-billing prompt: spelled), the name the
    # caller recorded, the number
    assert whispered(log_start) == [
        ("Playback", "vm-tocallback"),
        ("Playback", "acd-queue-billing"),
        ("ExecIf", "1?SayAlpha(billing)"),
        ("ExecIf", "1?Playback(" + NAME_FILE.format(middle_id) + ")"),
        ("ExecIf", f"1?SayDigits({middle})"),
    ]
    played = re.compile(rb"<PJSIP/agent1-[^>]*> Playing '" + NAME_FILE.format(middle_id).encode() + rb"\.")
    assert played.search(pbx_log(log_start)), "the PBX played the recorded name on agent1's leg"
    ids = [call_id_for(enqueued[n]["Uniqueid"]) for n in (first, middle, last)]

    async def all_answered() -> list[Any] | None:
        rows = await acd.rows(
            "SELECT * FROM interactions WHERE id = ANY($1) AND ended_at IS NOT NULL", [uuid.UUID(i) for i in ids]
        )
        return rows if len(rows) == 3 else None

    rows = await eventually(all_answered, 90, "the three calls answered and closed in PostgreSQL")
    by_id = {str(r["id"]): r for r in rows}
    assert [by_id[i]["outcome"] for i in ids] == ["answered"] * 3
    # served in the order they called: the callback in the middle caller's place
    assert sorted(ids, key=lambda i: by_id[i]["answered_at"]) == ids
    callback = by_id[middle_id]
    assert callback["agent_id"] == "agent1" and callback["talk_seconds"] > 0
    assert callback["arrived_at"] < by_id[ids[2]]["arrived_at"]  # kept its enqueue time
    await eventually(lambda: not name_file.exists(), 10, "the recorded name deleted once the callback closed")


async def test_a_busy_caller_is_tried_again_after_the_gap_then_closed_unreached(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """billing tries a callback's caller callback_attempts (the default, 3) times, callback_gap (5 s) apart."""
    acd = ready_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    number = numbers()[0]
    await farm.ami.action({"Action": "Setvar", "Variable": f"FARM_CB_{number}", "Value": "busy"})
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=240, caller_id=number)
    answered = await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=number)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 15, pbx_mark)
    await take_callback(farm, pbx_ami, number, answered["Channel"], pbx_mark)  # says nothing when asked
    await farm.wait_user_event("FarmCallerHangup", 20, farm_mark, FarmCaller=number)
    log_start = PBX_LOG.stat().st_size
    code, body = acd.post("/api/v1/agents/agent1/login")
    assert code == 200, body
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    row = await eventually(closed, 120, "the callback closed unreached in PostgreSQL")
    assert (row["outcome"], row["end_reason"]) == ("failed", "callback_unreached_busy")
    assert row["answered_at"] is None
    tries = [e for e in farm.ami.events(farm_mark) if user_event("FarmCallbackRinging", FarmNumber=number)(e)]
    assert len(tries) == 3
    # a caller who said nothing: no name in the whisper, the number as before (each of the 3 tries)
    names = [arg for what, arg in whispered(log_start) if "Playback(" in arg]
    assert names == ["0?Playback(" + NAME_FILE.format("") + ")"] * 3
    assert not (NAMES.directory / f"{call_id}.wav").exists()  # deleted once it closed
    await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 free again")


async def test_a_caller_keys_in_another_number_and_that_number_is_called_back(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """The caller presses 2 and keys in a number the admin's patterns do not allow: refused (the PBX
    says so, and offers the caller's own number again); then one they allow: read back, confirmed, and
    once agent1 accepts, that number (a farm number that answers) is dialled, not the caller's own."""
    acd = ready_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    own = numbers()[0]
    other = f"65{random.randrange(10**7, 10**8)}"
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=240, caller_id=own)
    channel = (await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=own))["Channel"]
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=own), 15, pbx_mark)
    uniqueid = enqueue["Uniqueid"]

    async def key_in(number: str) -> None:
        mark = pbx_ami.mark()
        await farm.send_dtmf(channel, "2")
        await pbx_ami.wait_event(user_event("AcdCallbackKeyIn", Uniqueid=uniqueid), 15, mark)
        await farm.send_dtmf(channel, number + "#")

    await pbx_ami.wait_event(user_event("AcdCallbackOffered", Uniqueid=uniqueid), 20, pbx_mark)
    await farm.send_dtmf(channel, "1")
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Uniqueid=uniqueid, AcdNumber=own), 30, pbx_mark)
    mark = pbx_ami.mark()
    await key_in("1900555")
    await pbx_ami.wait_event(user_event("AcdCallbackNumberRefused", Uniqueid=uniqueid, AcdNumber="1900555"), 20, mark)
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Uniqueid=uniqueid, AcdNumber=own), 20, mark)
    mark = pbx_ami.mark()
    await key_in(other)
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Uniqueid=uniqueid, AcdNumber=other), 30, mark)
    await farm.send_dtmf(channel, "1")
    taken = await pbx_ami.wait_event(user_event("AcdCallback", Uniqueid=uniqueid), 15, mark)
    assert taken["AcdNumber"] == other
    call_id = uuid.UUID(call_id_for(uniqueid))

    async def pending() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND end_reason = 'callback'", call_id)
        return rows[0] if rows else None

    row = await eventually(pending, 10, "the pending callback's row with the number keyed in")
    assert row["callback_number"] == other and row["caller"] == own

    code, body = acd.post("/api/v1/agents/agent1/login")
    assert code == 200, body
    await farm.wait_user_event("FarmCallbackAnswered", 60, farm_mark, FarmNumber=other)

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    row = await eventually(closed, 60, "the callback answered and closed in PostgreSQL")
    assert (row["outcome"], row["agent_id"], row["callback_number"]) == ("answered", "agent1", other)
    rung = [e.get("FarmNumber") for e in farm.ami.events(farm_mark) if user_event("FarmCallbackRinging")(e)]
    assert rung == [other], "only the number keyed in is dialled"


async def test_a_callback_scheduled_through_the_api_enters_at_its_time_and_calls_the_number(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """agent1, from the desk (an agent's token), asks for a call to a number 5 s from now. Nothing rings
    before then; at its time it enters billing with the queue's scheduled_callback_priority, agent1 is
    rung first, then the number (a farm number that answers); the record counts its wait from then."""
    acd = ready_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    await login(acd, "agent1")
    token = await acd_command(acd, "tokens", "add", "--role", "agent", "--agent", "agent1")
    number = f"65{random.randrange(10**7, 10**8)}"
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    at = datetime.now(UTC) + timedelta(seconds=5)
    body = {"queue": "billing", "number": number, "at": at.isoformat(), "customer": "Ada", "note": "after 3"}
    code, reply = api(acd, "POST", "/callbacks", token, body)
    assert code == 201, reply
    callback_id = reply["callback"]["id"]
    code, listed = api(acd, "GET", "/callbacks?queue=billing", token)
    assert code == 200 and [(c["id"], c["status"]) for c in listed["callbacks"]] == [(callback_id, "pending")]

    await farm.wait_user_event("FarmAgentRinging", 20, farm_mark, FarmAgent="agent1")
    rung_at = time.time()
    assert rung_at >= at.timestamp() - 0.2, "rung before its time"
    assert rung_at < at.timestamp() + 3, "rung long after its time"
    await pbx_ami.wait_event(user_event("AcdCallbackAnswered", AcdAgent="agent1"), 20, pbx_mark)
    await farm.wait_user_event("FarmCallbackAnswered", 30, farm_mark, FarmNumber=number)

    async def closed() -> Any:
        rows = await acd.rows(
            "SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", uuid.UUID(callback_id)
        )
        return rows[0] if rows else None

    row = await eventually(closed, 60, "the scheduled callback answered and closed in PostgreSQL")
    assert (row["outcome"], row["agent_id"], row["priority"], row["caller"]) == ("answered", "agent1", 7, number)
    assert abs(row["arrived_at"].timestamp() - at.timestamp()) < 0.01  # its SLA clock starts at its time
    assert 0 < row["wait_seconds"] < 5
    code, listed = api(acd, "GET", "/callbacks", token)
    assert [(c["id"], c["status"]) for c in listed["callbacks"]] == [(callback_id, "answered")]


async def test_a_pending_callback_and_a_scheduled_one_survive_a_kill_9(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """A caller takes a callback while no agent is logged in, and a callback is scheduled 3 s ahead;
    the ACD is killed with SIGKILL before either is served, and its scheduled time passes while it is
    down. Restarted, once agent1 logs in: the scheduled one first (billing's scheduled priority 7 over
    the caller's 5), entered at its time, then the caller's, in their place: each rings agent1, then
    its number; each record is answered once, none abandoned."""
    acd = ready_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    own = numbers()[0]
    other = f"65{random.randrange(10**7, 10**8)}"
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=240, caller_id=own)
    channel = (await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=own))["Channel"]
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=own), 15, pbx_mark)
    await take_callback(farm, pbx_ami, own, channel, pbx_mark)
    await farm.wait_user_event("FarmCallerHangup", 15, farm_mark, FarmCaller=own)
    caller_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def pending() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND end_reason = 'callback'", caller_id)
        return rows[0] if rows else None

    before = await eventually(pending, 10, "the pending callback's row in PostgreSQL")
    at = datetime.now(UTC) + timedelta(seconds=3)
    code, reply = acd.post("/api/v1/callbacks", {"queue": "billing", "number": other, "at": at.isoformat()})
    assert code == 201, reply
    scheduled_id = uuid.UUID(reply["callback"]["id"])

    acd.stop(signal.SIGKILL)
    await asyncio.sleep(max(0.0, at.timestamp() - time.time()) + 1)  # its time passes while the ACD is down
    await asyncio.to_thread(acd.start)
    code, body = acd.post("/api/v1/agents/agent1/login")  # rung at once: ready only for a moment
    assert code == 200, body
    await farm.wait_user_event("FarmCallbackAnswered", 60, farm_mark, FarmNumber=other)
    await farm.wait_user_event("FarmCallbackAnswered", 60, farm_mark, FarmNumber=own)

    async def both_closed() -> list[Any] | None:
        rows = await acd.rows(
            "SELECT * FROM interactions WHERE id = ANY($1::uuid[]) AND ended_at IS NOT NULL ORDER BY answered_at",
            [scheduled_id, caller_id],
        )
        return rows if len(rows) == 2 else None

    rows = await eventually(both_closed, 60, "both callbacks answered and closed in PostgreSQL")
    assert [r["id"] for r in rows] == [scheduled_id, caller_id]
    assert [(r["outcome"], r["agent_id"]) for r in rows] == [("answered", "agent1")] * 2
    scheduled, caller = rows
    assert abs(scheduled["arrived_at"].timestamp() - at.timestamp()) < 0.01 and scheduled["priority"] == 7
    assert caller["arrived_at"] == before["arrived_at"] and caller["priority"] == before["priority"]
    assert caller["caller"] == own and caller["end_reason"] != "abandoned"
    rung = [str(e.get("FarmNumber")) for e in farm.ami.events(farm_mark) if user_event("FarmCallbackRinging")(e)]
    assert sorted(rung) == sorted([own, other]), "each number dialled once"
    count = await acd.rows(
        "SELECT count(*) AS n FROM interactions WHERE id = ANY($1::uuid[])", [scheduled_id, caller_id]
    )
    assert count[0]["n"] == 2


async def test_a_pending_callback_survives_an_asterisk_restart(
    ready_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, pbx_stack: PbxStack
) -> None:
    """A caller takes a callback while no agent is logged in; the PBX is stopped and started again
    (every channel gone, the AMI link down). The callback is a row in PostgreSQL and a mark in the PBX's
    AstDB, not a channel: once the ACD has reconnected and agent1 logs in, agent1 is rung, the caller's
    own number (which no pattern allows: only the mark lets it be dialled) is called and answers; the
    record is answered by agent1, in the place the caller kept."""
    acd = ready_acd
    own = numbers()[0]
    pbx_mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("200", patience_seconds=60, caller_id=own)
    channel = (await farm.wait_user_event("FarmCallerAnswered", 15, farm_mark, FarmCaller=own))["Channel"]
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=own), 15, pbx_mark)
    await take_callback(farm, pbx_ami, own, channel, pbx_mark)
    await farm.wait_user_event("FarmCallerHangup", 15, farm_mark, FarmCaller=own)
    caller_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def pending() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND end_reason = 'callback'", caller_id)
        return rows[0] if rows else None

    before = await eventually(pending, 10, "the pending callback's row in PostgreSQL")
    restarted = time.monotonic()
    try:
        await asyncio.to_thread(run_script, "stop", "pbx")
        await eventually(lambda: not acd.health()["ami_connected"], 10, "the ACD to see Asterisk go")
    finally:
        await asyncio.to_thread(run_script, "start", "all")  # later tests need the PBX back, whatever happened
    await eventually(lambda: acd.health()["ami_connected"], 45, "the ACD to reconnect")
    print(f"PBX down and back, the ACD reconnected: {time.monotonic() - restarted:.1f} s")

    # the agent's phone stays on through the whisper ("callback", billing spelled, the number: about 15 s)
    # and the caller's answer
    await farm.set_agent("agent1", "answer", delay=1, talk=TALK)
    code, body = acd.post("/api/v1/agents/agent1/login")  # rung at once: ready only for a moment
    assert code == 200, body
    await farm.wait_user_event("FarmCallbackAnswered", 30, farm_mark, FarmNumber=own)

    async def answered() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND answered_at IS NOT NULL", caller_id)
        return rows[0] if rows else None

    row = await eventually(answered, 10, "the callback's record answered by agent1")
    assert (row["agent_id"], row["end_reason"]) == ("agent1", "callback")
    assert row["arrived_at"] == before["arrived_at"] and row["priority"] == before["priority"]
