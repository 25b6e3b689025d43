"""What the two Asterisks report: the timestamps of the events that matter, from the PBX and the farm."""

from __future__ import annotations

import asyncio
import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.vs_app_queue.plan import INF
from phonefarm import AmiEvent

AGENT_CHANNEL = re.compile(r"^PJSIP/(agent[0-9]+)-")
AGENT_NAME = re.compile(r"^agent[0-9]+$")


@dataclass(frozen=True)
class Leg:
    """An agent's phone and the caller it was offered (a farm INVITE, or the farm agent's hangup)."""

    ts: float
    agent: str
    number: str


@dataclass(frozen=True)
class Step:
    """One dialplan step of a caller's channel as it began (a Newexten): where, and which application."""

    ts: float
    context: str
    priority: str
    application: str

    @property
    def name(self) -> str:
        return f"{self.context},{self.priority} {self.application}"


CALLER_CONTEXTS = ("acd-enqueue", "acd-connect", "acd-connect-mark")


@dataclass
class Recorder:
    """Timestamps of the events that matter, from the PBX (listener ``bench``) and the farm."""

    join: dict[str, float] = field(default_factory=dict)  # caller number -> entered the queue
    channel: dict[str, str] = field(default_factory=dict)  # caller number -> the caller's PBX channel
    invites: list[Leg] = field(default_factory=list)  # farm Newchannel of an agent's phone
    first_invite: dict[str, Leg] = field(default_factory=dict)
    ringing: dict[str, float] = field(default_factory=dict)  # FarmAgentRinging, by caller
    agent_hangups: list[Leg] = field(default_factory=list)  # FarmAgentHangup
    caller_gone: dict[str, float] = field(default_factory=dict)  # FarmCallerHangup
    failed_originates: set[str] = field(default_factory=set)  # farm call ids
    marks: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    # the caller's dialplan steps (Newexten) in the ACD's contexts, by caller number, in order
    steps: dict[str, list[Step]] = field(default_factory=lambda: defaultdict(list))
    untimed: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def mark(self, what: str, key: str, ts: float) -> None:
        bisect.insort(self.marks[(what, key)], ts)

    def first_mark(self, what: str, key: str, after: float, until: float = INF) -> float | None:
        times = self.marks.get((what, key), [])
        i = bisect.bisect_left(times, after)
        return times[i] if i < len(times) and times[i] <= until else None

    def _timestamp(self, event: AmiEvent) -> float | None:
        try:
            return float(event["Timestamp"])
        except (KeyError, ValueError):
            self.untimed += 1
            return None

    def on_pbx(self, event: AmiEvent) -> None:
        kind = event.get("Event", "")
        if kind not in (
            "UserEvent",
            "QueueCallerJoin",
            "VarSet",
            "Newexten",
            "Newchannel",
            "Hangup",
            "QueueMemberStatus",
        ):
            return
        ts = self._timestamp(event)
        if ts is None:
            return
        number = event.get("CallerIDNum", "")
        if kind == "Newexten" and event.get("Context") in CALLER_CONTEXTS:
            step = Step(ts, event.get("Context", ""), event.get("Priority", ""), event.get("Application", ""))
            self.steps[number].append(step)
        if kind == "UserEvent":
            name = event.get("UserEvent")
            if name == "AcdEnqueue":
                self.join.setdefault(event.get("AcdCaller", number), ts)
                self.channel.setdefault(event.get("AcdCaller", number), event.get("Channel", ""))
            elif name == "AcdDialResult":
                self.mark("dial_result", number, ts)
            elif name == "BenchEntry":
                self.mark("entry", number, ts)  # past the Answer(), before Queue() / acd-enqueue
        elif kind == "QueueCallerJoin":
            self.join.setdefault(number, ts)
            self.channel.setdefault(number, event.get("Channel", ""))
        elif kind == "VarSet" and event.get("Channel", "none") != "none":
            if event.get("Variable") == "ACD_OFFER" and event.get("Value"):
                self.mark("setvar_offer", number, ts)
            elif event.get("Variable") == "ACD_RING_TIMEOUT":
                self.mark("setvar_ring_timeout", number, ts)
        elif (
            kind == "Newexten"
            and event.get("Context") == "acd-enqueue"
            and "hangup_handler_push" in event.get("AppData", "")
        ):
            self.mark("enqueue_entry", number, ts)  # acd-enqueue past its Answer(), before its AcdEnqueue
        elif kind == "Newexten" and event.get("Context") == "acd-connect-mark" and event.get("Priority") == "1":
            self.mark("acd_connect", number, ts)  # claims on: the Redirect lands here first (docs/dialplan.md)
        elif kind == "Newexten" and event.get("Context") == "acd-connect":
            if event.get("Priority") == "1":
                self.mark("acd_connect", number, ts)
            elif event.get("Application") == "Dial":
                self.mark("dial_app", number, ts)
        elif kind == "Newchannel" and (m := AGENT_CHANNEL.match(event.get("Channel", ""))):
            self.mark("pbx_agent_channel", m.group(1), ts)  # the outgoing leg is made; its INVITE follows
        elif kind == "Hangup" and (m := AGENT_CHANNEL.match(event.get("Channel", ""))):
            self.mark("pbx_agent_hangup", m.group(1), ts)
        elif kind == "QueueMemberStatus" and event.get("Status") == "1":  # AST_DEVICE_NOT_INUSE
            self.mark("member_free", event.get("Interface", "").removeprefix("PJSIP/"), ts)

    def on_farm(self, event: AmiEvent) -> None:
        kind = event.get("Event", "")
        name = event.get("UserEvent", "")
        if name == "FarmOriginate":  # synthetic, from phonefarm: no Timestamp
            if event.get("FarmResponse") != "Success":
                self.failed_originates.add(event.get("FarmCallId", ""))
            self.changed.set()
            return
        is_invite = (
            kind == "Newchannel" and event.get("Context") == "farm-in" and AGENT_NAME.match(event.get("Exten", ""))
        )
        if not is_invite and name not in ("FarmAgentRinging", "FarmAgentHangup", "FarmCallerHangup"):
            return
        ts = self._timestamp(event)
        if ts is None:
            return
        if is_invite:
            leg = Leg(ts, event.get("Exten", ""), event.get("CallerIDNum", ""))
            self.invites.append(leg)
            self.first_invite.setdefault(leg.number, leg)
        elif name == "FarmAgentRinging":
            self.ringing.setdefault(event.get("FarmCaller", ""), ts)
        elif name == "FarmAgentHangup":
            self.agent_hangups.append(Leg(ts, event.get("FarmAgent", ""), event.get("FarmCaller", "")))
        else:
            self.caller_gone.setdefault(event.get("FarmCaller", ""), ts)
        self.changed.set()

    def invite_ts(self, number: str) -> float:
        leg = self.first_invite.get(number)
        return leg.ts if leg else INF

    def waiting_at(self, numbers: Sequence[str], at: float, but: str = "") -> int:
        """Callers in the queue at ``at``: entered, not yet offered to a phone, not gone."""
        return sum(
            1
            for m in numbers
            if m != but and self.join.get(m, INF) < at and self.invite_ts(m) > at and self.caller_gone.get(m, INF) > at
        )
