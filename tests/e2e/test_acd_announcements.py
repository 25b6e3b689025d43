"""A farm caller in third place hears its position and the wait the ACD estimated, on the real PBX.

The ACD sets ``ACD_POSITION`` and ``ACD_EWT`` on each holding caller's channel (docs/dialplan.md,
"Holding"); ``acd-announce`` speaks them every ``ACD_ANNOUNCE_EVERY`` seconds (a channel variable of
that name overrides the global 30 s, so the test sets 1 on its caller). The ACD's AMI user sees no
dialplan steps (no read ``dialplan``), so what was played is read in the PBX's full log (verbose 3
logs each application with its arguments), as tests/e2e/test_acd_phone_dispositions.py does.

One agent serves billing: a first short call gives the ACD a measured handle time (the estimate is
empty until then), a second long call keeps the agent on the phone, and three more callers wait.
The third of them is told "there are 2 calls waiting" and the hold time the ACD computed; then they
take a callback and, before the thanks, hear when to expect the call: that same estimate.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from acd_process import eventually, login
from e2e_stack import enqueue_caller, user_event

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

PBX_LOG = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root")) / "var/log/asterisk/full"
# what acd-callback-confirm plays a caller who took a callback keeping their place (not their name)
WHEN = re.compile(rb'\[1@acd-callback-confirm:\d+\] (Playback|SayNumber)\("(?P<chan>[^"]*)", "(?P<arg>[^"]*)"\)')
STEP = re.compile(rb'\[s@acd-announce:\d+\] (Playback|SayNumber)\("(?P<chan>[^"]*)", "(?P<arg>[^"]*)"\)')


async def getvar(pbx: AmiClient, channel: str, name: str) -> str:
    reply = await pbx.action({"Action": "Getvar", "Channel": channel, "Variable": name})
    return str(reply[0].get("Value", ""))


def expected_prompts(position: int, ewt: int) -> list[tuple[str, str]]:
    """What acd-announce plays for a position and an estimate (dialplan/acd-queue.conf)."""
    said: list[tuple[str, str]] = (
        [("Playback", "queue-youarenext")]
        if position <= 1
        else [("Playback", "queue-thereare"), ("SayNumber", str(position - 1)), ("Playback", "queue-callswaiting")]
    )
    if ewt < 60:
        return [*said, ("Playback", "queue-holdtime&queue-less-than"), ("SayNumber", "1"), ("Playback", "queue-minute")]
    return [
        *said,
        ("Playback", "queue-holdtime"),
        ("SayNumber", str(math.ceil(ewt / 60))),
        ("Playback", "queue-minutes"),
    ]


async def test_the_third_caller_hears_its_position_and_the_acds_estimate(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await login(acd, "agent1")  # agents 2-4 stay logged out: agent1 alone serves billing

    # a short first call: the ACD measures a handle time (no estimate is announced before)
    await farm.set_agent("agent1", "answer", delay=1, talk=2)
    first = await enqueue_caller(farm, pbx_ami, "200", patience=60)

    async def ended(uniqueid: str) -> Any:
        rows = await acd.rows("SELECT outcome FROM interactions WHERE uniqueid = $1 AND ended_at IS NOT NULL", uniqueid)
        return rows or None

    rows = await eventually(lambda: ended(first["Uniqueid"]), 30, "the first call answered and ended")
    assert rows[0]["outcome"] == "answered"
    await eventually(lambda: acd.agent_state("agent1") == "ready", 15, "agent1 ready after wrap-up")

    # a long second call keeps agent1 busy; three callers queue up behind it
    await farm.set_agent("agent1", "answer", delay=1, talk=90)
    await enqueue_caller(farm, pbx_ami, "200", patience=90)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 20, "agent1 on the second call")
    farm_mark = farm.mark()
    waiting = [await enqueue_caller(farm, pbx_ami, "200", patience=120) for _ in range(3)]
    third = waiting[2]["Channel"]
    log = PBX_LOG.open("rb")
    log.seek(0, 2)
    await pbx_ami.action({"Action": "Setvar", "Channel": third, "Variable": "ACD_ANNOUNCE_EVERY", "Value": "1"})

    async def told() -> tuple[str, str] | None:
        position, ewt = await getvar(pbx_ami, third, "ACD_POSITION"), await getvar(pbx_ami, third, "ACD_EWT")
        return (position, ewt) if position and ewt else None

    position, ewt = await eventually(told, 20, "ACD_POSITION and ACD_EWT set on the third caller")
    assert position == "3"
    assert ewt.isdigit()
    # the ACD's figure (acd/announce.py): EWT = ceil(position * AHT / agents serving), here one
    # handle time measured and agent1 alone serving
    handled = acd.metric("acd_handle_seconds_count", queue="billing")
    aht = acd.metric("acd_handle_seconds_sum", queue="billing") / handled
    assert (handled, int(ewt)) == (1, math.ceil(3 * aht / 1))
    want = expected_prompts(int(position), int(ewt))

    text = b""

    def announced() -> list[tuple[str, str]] | None:
        nonlocal text
        text += log.read()
        said = [(m[1].decode(), m["arg"].decode()) for m in STEP.finditer(text) if m["chan"].decode() == third]
        return said if len(said) >= len(want) else None

    said = await eventually(announced, 30, "the announcement in the PBX's log")
    log.close()
    assert said[: len(want)] == want

    # the third caller takes a callback (holding offers it once ACD_CALLBACK_AFTER is on the channel:
    # set here by hand, as the ACD sets it for a queue with callback_after) and, before the thanks,
    # hears when to expect the call: the same estimate of the ACD (ACD_EWT), as holding says it
    number = waiting[2]["AcdCaller"]
    farm_channel = (await farm.wait_user_event("FarmCallerAnswered", 5, farm_mark, FarmCaller=number))["Channel"]
    mark, since = pbx_ami.mark(), PBX_LOG.stat().st_size
    await pbx_ami.action({"Action": "Setvar", "Channel": third, "Variable": "ACD_CALLBACK_AFTER", "Value": "0"})
    await pbx_ami.wait_event(user_event("AcdCallbackOffered", Channel=third), 15, mark)
    await farm.send_dtmf(farm_channel, "1")
    await pbx_ami.wait_event(user_event("AcdCallbackConfirm", Channel=third, AcdNumber=number), 20, mark)
    await farm.send_dtmf(farm_channel, "1")
    await pbx_ami.wait_event(user_event("AcdCallback", Channel=third), 10, mark)
    assert await getvar(pbx_ami, third, "ACD_EWT") == ewt  # the estimate they are about to hear

    def thanked() -> list[tuple[str, str]] | None:
        with PBX_LOG.open("rb") as log:
            log.seek(since)
            text = log.read()
        if b"<" + third.encode() + b"> Playing 'auth-thankyou" not in text:
            return None
        return [(m[1].decode(), m["arg"].decode()) for m in WHEN.finditer(text) if m["chan"].decode() == third]

    when = await eventually(thanked, 20, "the callback's caller thanked")
    assert when == [*expected_prompts(1, int(ewt))[1:], ("Playback", "auth-thankyou&vm-goodbye")]


async def test_a_caller_transferred_into_a_queue_that_says_the_wait_hears_it_from_the_first_arrival(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    """support says the wait so far (``announce_waited``; billing does not): a caller who waited about
    20 s in billing, was answered by agent1 and transferred blind to support hears "hold time", a
    number of seconds that counts billing's wait too (more than they have been in support), and
    "seconds" (docs/dialplan.md, "Holding")."""
    acd = live_acd
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=60)  # nobody logged in: waits
    channel = caller["Channel"]
    await pbx_ami.action({"Action": "Setvar", "Channel": channel, "Variable": "ACD_ANNOUNCE_EVERY", "Value": "1"})
    await asyncio.sleep(20)
    farm_mark = farm.mark()
    await farm.set_agent("agent1", "answer", delay=1, talk=30)
    code, body = acd.post("/api/v1/agents/agent1/login")  # offered the waiting caller at once
    assert code == 200, body
    await farm.wait_user_event("FarmAgentAnswered", 15, farm_mark, FarmAgent="agent1")
    call_id = call_id_for(caller["Uniqueid"])
    assert await getvar(pbx_ami, channel, "ACD_WAITED_SAY") == ""  # billing says no wait
    log = PBX_LOG.open("rb")
    log.seek(0, 2)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "support"}})
    assert status == 202, body
    await pbx_ami.wait_event(user_event("AcdTransferred", AcdQueue="support"), 15, mark)
    moved = time.monotonic()

    async def first_stay() -> Any:
        rows = await acd.rows(
            "SELECT wait_seconds FROM interactions WHERE uniqueid = $1 AND queue = 'billing' AND ended_at IS NOT NULL",
            caller["Uniqueid"],
        )
        return rows[0] if rows else None

    billing_wait = float((await eventually(first_stay, 15, "the billing stay closed"))["wait_seconds"])
    assert billing_wait >= 20
    text = b""

    def said() -> tuple[list[tuple[str, str]], float] | None:
        nonlocal text
        text += log.read()
        steps = [(m[1].decode(), m["arg"].decode()) for m in STEP.finditer(text) if m["chan"].decode() == channel]
        at = next((i for i, step in enumerate(steps) if step == ("Playback", "queue-reporthold")), None)
        if at is None or len(steps) < at + 3:
            return None
        return steps[at : at + 3], time.monotonic() - moved

    (hold, (say, number), unit), in_support = await eventually(said, 25, "the wait so far in the PBX's log")
    log.close()
    print(f"billing wait {billing_wait:.1f} s, said {number} after {in_support:.1f} s in support")
    assert hold == ("Playback", "queue-reporthold") and say == "SayNumber" and unit == ("Playback", "queue-seconds")
    assert int(number) % 10 == 0 and int(number) >= 10 * (billing_wait // 10)  # billing's wait counted
    assert int(number) > in_support  # more than this stay alone
