"""A farm agent's ``*55<n>`` after a real call records the n-th code of the queue's catalogue.

The agent logs in with ``*50`` from the farm's SIP phone, answers a billing caller through the real
Asterisk, and after the call dials ``*55<n>`` (docs/dialplan.md, "Agent feature codes"): a number
beyond billing's catalogue is refused and counted (``acd_ami_refused_total{reason="disposition"}``),
a malformed one (a leading zero) gets the dialplan's ``beeperr`` and raises no event, and the n-th
code lands on the call's interaction in PostgreSQL.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from acd_process import eventually
from e2e_stack import enqueue_caller, user_event

from acd.core.config import DEFAULT_DISPOSITIONS
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

# the PBX's full log (deploy/asterisk/pbx.sh: the sid root, the PBX logs to /var/log/asterisk in it)
PBX_LOG = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root")) / "var/log/asterisk/full"


async def test_a_phone_disposition_after_a_call_sets_the_catalogues_code(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    catalogue = acd.get("/api/v1/queues/billing")["queue"]["dispositions"]
    assert tuple(catalogue) == DEFAULT_DISPOSITIONS  # the e2e config gives billing the default catalogue
    wanted = "complaint/billing"
    position = catalogue.index(wanted) + 1

    await farm.set_agent("agent4", "answer", delay=1, talk=2)
    await farm.agent_dial("agent4", "*50")
    await eventually(lambda: acd.agent_state("agent4") == "ready", 15, "agent4 logged in by *50")
    # agents 1-3 stay logged out: the caller goes to agent4
    caller = await enqueue_caller(farm, pbx_ami, "200")

    async def ended() -> Any:
        rows = await acd.rows(
            "SELECT outcome, agent_id, disposition FROM interactions WHERE uniqueid = $1 AND ended_at IS NOT NULL",
            caller["Uniqueid"],
        )
        return rows or None

    rows = await eventually(ended, 30, "the call answered by agent4 and ended")
    assert (rows[0]["outcome"], rows[0]["agent_id"], rows[0]["disposition"]) == ("answered", "agent4", None)

    refused = acd.metric("acd_ami_refused_total", pbx="pbx", reason="disposition")
    mark = pbx_ami.mark()
    await farm.agent_dial("agent4", f"*55{len(catalogue) + 1}")  # one beyond the catalogue
    await pbx_ami.wait_event(user_event("AcdAgent", AcdAgent="agent4", AcdReason=str(len(catalogue) + 1)), 15, mark)
    await eventually(
        lambda: acd.metric("acd_ami_refused_total", pbx="pbx", reason="disposition") == refused + 1,
        10,
        "the refusal counted",
    )

    # a malformed number (a leading zero): the dialplan plays beeperr (Asterisk's log says so: the AMI
    # user sees no dialplan steps) and raises no event
    log = PBX_LOG.open("rb")
    log.seek(0, 2)
    mark = pbx_ami.mark()
    await farm.agent_dial("agent4", f"*550{position}")
    await pbx_ami.wait_event(
        lambda e: e.get("Event") == "Hangup" and e.get("Channel", "").startswith("PJSIP/agent4-"), 15, mark
    )
    played = b""

    def beeperr() -> bool:
        nonlocal played
        played += log.read()
        return re.search(rb'Playback\("PJSIP/agent4-[^"]*", "beeperr"\)', played) is not None

    await eventually(beeperr, 10, "beeperr in the PBX's log")
    log.close()
    assert not [e for e in pbx_ami.events(mark) if user_event("AcdAgent", AcdAgent="agent4")(e)]

    mark = pbx_ami.mark()
    await farm.agent_dial("agent4", f"*55{position}")
    await pbx_ami.wait_event(user_event("AcdAgent", AcdAgent="agent4", AcdReason=str(position)), 15, mark)

    async def dispositioned() -> Any:
        rows = await acd.rows("SELECT disposition FROM interactions WHERE uniqueid = $1", caller["Uniqueid"])
        return rows if rows and rows[0]["disposition"] is not None else None

    rows = await eventually(dispositioned, 15, f"the disposition of *55{position} in the record")
    assert rows[0]["disposition"] == wanted
    assert acd.metric("acd_ami_refused_total", pbx="pbx", reason="disposition") == refused + 1
