"""Ring an agent for a callback, then dial the caller: the Originate a callback is served with.

A callback's caller has no channel to Redirect (they hung up, keeping their place: acd.core.callbacks),
so the ACD starts the call itself, as the originate-only AMI user (``acd.ami.originate.Originator``).
The action is always of this shape, every value checked here (and again by the dialplan:
docs/dialplan.md, "Callbacks"; why it is no door to toll fraud: docs/security.md):

    Channel: Local/<agent endpoint>@acd-callback-agent   Context: acd-callback   Exten: <number>
    Variable: ACD_OFFER=<offer id>, ACD_RING_TIMEOUT=<seconds>, ACD_CB_QUEUE=<queue>, ACD_CB_SAY=<number>,
              ACD_CB_NAME=<callback id> (only when the caller recorded their name),
              ACD_OFFER_EPOCH=<the leader's epoch> (only with a lease)

The epoch fences the ring as it fences an offer (docs/dialplan.md, "Fencing"): ``acd-callback-agent``
rings nobody when it is not the PBX's ``ACD_EPOCH``, so an old leader cannot call back a caller whom the
leader in force calls back too.

The Local channel's far half rings the agent (whispering "callback", the queue, the caller's recorded
name and the number on answer); once the agent has
answered, the near half runs ``acd-callback,<number>``, which dials the caller's number only when it
is digits and one the ACD holds for a callback.
"""

from __future__ import annotations

import math
import re

from acd.callback_names import NAME
from acd.dialling import NotDialable, is_endpoint

CONTEXT = "acd-callback"
AGENT_CONTEXT = "acd-callback-agent"
NUMBER = re.compile(r"[0-9]{1,32}")
OFFER = re.compile(r"[-_.0-9A-Za-z]{1,64}")
WHISPER_SECONDS = 60  # "callback", a queue's name spelled, a number's digits: what the agent hears first
QUEUE = re.compile(r"[-_0-9A-Za-z]{1,64}")  # a queue name the whisper can name (a prompt file, or spelled)


def callback_action(
    endpoint: str,
    number: str,
    offer_id: str,
    ring_timeout: float,
    action_id: str,
    queue: str = "",
    *,
    name: str = "",
    epoch: int | None = None,
) -> dict[str, str | list[str]]:
    """The Originate that rings agent ``endpoint`` and, once they answer, dials ``number``; the agent
    hears "callback", then ``queue`` (a plain name, else left out), the caller's recorded name (``name``:
    the callback's id, whose file holds speech: acd.callback_names; else left out) and the number's
    digits. ``epoch``: the leading term's, which the dialplan compares with ``ACD_EPOCH`` (None: no lease)."""
    if not is_endpoint(endpoint):
        raise NotDialable(f"agent endpoint {endpoint[:80]!r} is not a PJSIP endpoint name")
    if NUMBER.fullmatch(number) is None:
        raise NotDialable(f"callback number {number[:40]!r} is not 1 to 32 digits")
    if OFFER.fullmatch(offer_id) is None:
        raise NotDialable(f"offer id {offer_id[:80]!r} is ill-formed")
    seconds = max(1, math.ceil(ring_timeout))
    return {
        "Action": "Originate",
        "ActionID": action_id,
        "Channel": f"Local/{endpoint}@{AGENT_CONTEXT}",
        "Context": CONTEXT,
        "Exten": number,
        "Priority": "1",
        # the agent's Dial gives up first (ACD_RING_TIMEOUT) and says so; this only bounds the Originate,
        # which is answered once the agent has heard the whisper (up to WHISPER_SECONDS)
        "Timeout": str((seconds + 5 + WHISPER_SECONDS) * 1000),
        "CallerID": f'"ACD callback" <{number}>',
        "Async": "true",
        "Variable": [
            f"ACD_OFFER={offer_id}",
            f"ACD_RING_TIMEOUT={seconds}",
            # the whisper: the queue's name and the number, as the agent hears them on answer
            *([f"ACD_CB_QUEUE={queue}"] if QUEUE.fullmatch(queue) else []),
            f"ACD_CB_SAY={number}",
            *([f"ACD_CB_NAME={name}"] if NAME.fullmatch(name) else []),
            *([] if epoch is None else [f"ACD_OFFER_EPOCH={int(epoch)}"]),
        ],
    }
