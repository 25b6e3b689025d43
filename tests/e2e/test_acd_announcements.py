"""A farm caller in third place hears its position and the wait the ACD estimated, on the real PBX.

The ACD sets ``ACD_POSITION`` and ``ACD_EWT`` on each holding caller's channel (docs/dialplan.md,
"Holding"); ``acd-announce`` speaks them every ``ACD_ANNOUNCE_EVERY`` seconds (a channel variable of
that name overrides the global 30 s, so the test sets 1 on its caller). The ACD's AMI user sees no
dialplan steps (no read ``dialplan``), so what was played is read in the PBX's full log (verbose 3
logs each application with its arguments), as tests/e2e/test_acd_phone_dispositions.py does.

One agent serves billing: a first short call gives the ACD a measured handle time (the estimate is
empty until then), a second long call keeps the agent on the phone, and three more callers wait.
The third of them is told "there are 2 calls waiting" and the hold time the ACD computed.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from acd_process import eventually, login
from e2e_stack import enqueue_caller

from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

PBX_LOG = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root")) / "var/log/asterisk/full"
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
    waiting = [await enqueue_caller(farm, pbx_ami, "200", patience=90) for _ in range(3)]
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
