"""The caller legs the ACD knows about, keyed by Asterisk Uniqueid, and what each Hangup means.

Rule: every change of a leg's phase goes through ``CallerBook._move``, which also keeps the
offer index and the set of agent endpoints the ACD itself is ringing or has connected (needed
to tell "busy on our call" from "busy elsewhere"). What a Hangup means is one table,
``ON_HANGUP``, not an if-chain, so "a hangup after answer is not counted twice" can be read off
it: once a leg is ENDED or LEFT, its Hangup says nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Literal


class Phase(Enum):
    WAITING = "waiting"  # in acd-hold
    RINGING = "ringing"  # in acd-connect, the agent's phone rings
    CONNECTED = "connected"  # the agent answered; conversation under way
    ENDED = "ended"  # CallEnded already emitted; only the Hangup is still to come
    LEFT = "left"  # fallback or overflow took it out of the ACD's hands


HangupMeaning = Literal["caller_hung_up", "call_ended"] | None

ON_HANGUP: dict[Phase, HangupMeaning] = {
    Phase.WAITING: "caller_hung_up",
    Phase.RINGING: "caller_hung_up",
    Phase.CONNECTED: "call_ended",
    Phase.ENDED: None,
    Phase.LEFT: None,
}

DialOutcome = Literal["ended", "unanswered", "rejected", "failed", "cancelled"]

DIAL_OUTCOMES: dict[str, DialOutcome] = {
    "ANSWER": "ended",  # Dial returned after a conversation: it is over
    "NOANSWER": "unanswered",
    "BUSY": "rejected",
    "CHANUNAVAIL": "failed",
    "CONGESTION": "failed",
    "CANCEL": "cancelled",  # the ACD redirected the caller back, or the caller hung up
}
"""``DIALSTATUS`` → what it means for the offer. Anything else (INVALIDARGS…) counts as failed."""

LIVE = frozenset({Phase.WAITING, Phase.RINGING})
ENGAGING = frozenset({Phase.RINGING, Phase.CONNECTED})


@dataclass(slots=True)
class CallerLeg:
    call_id: str
    uniqueid: str
    channel: str = ""
    queue: str = ""
    priority: int = 0
    phase: Phase = Phase.WAITING
    offer_id: str = ""
    endpoint: str = ""
    agent_leg: str = ""  # the agent's channel once answered (AcdAnswered is raised on it)
    agent_uniqueid: str = ""  # that channel's Uniqueid: it names the answered stay's recording
    recording_at: float | None = None  # when that recording began, if not at the answer (a consulted agent's)
    consult_leg: str = ""  # a consulted agent's channel recording since its answer (AcdConsultRecording)
    consult_uniqueid: str = ""  # that channel's Uniqueid: its recording's name
    consult_at: float | None = None  # when that recording began (the consult's answer)
    # a caller found handed over after a restart: (the handover, the first agent's file); a stay answered
    # before the handover is the first agent's, whose record may still be open (the handover was not seen)
    handed_from: tuple[float, str] | None = None
    paused_at: float | None = None  # a restart's finding: the agent leg's recording paused since then
    pbx: str = "pbx"  # the PBX the caller's channel is on (docs/pbxs.md): its commands go to that PBX's link


ENDED_KEPT = 1000
"""Calls whose leg the book has let go, remembered (the latest ones) for ``ended``."""


class CallerBook:
    """Mutable index of caller legs. Small and boring on purpose: the translator decides, this records."""

    def __init__(self) -> None:
        self._legs: dict[str, CallerLeg] = {}
        self._calls: dict[str, str] = {}  # call id -> Uniqueid
        self._ended: dict[str, None] = {}  # calls whose leg was removed, oldest first (at most ENDED_KEPT)
        self._offers: dict[str, str] = {}
        self._engaged: Counter[str] = Counter()

    def __iter__(self) -> Iterator[CallerLeg]:
        return iter(list(self._legs.values()))

    def __len__(self) -> int:
        return len(self._legs)

    def get(self, uniqueid: str) -> CallerLeg | None:
        return self._legs.get(uniqueid)

    def channel_of(self, call_id: str) -> str | None:
        """The caller channel of a call the book still holds (until its Hangup), for call control."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or not leg.channel:
            return None
        return leg.channel

    def pbx_of(self, call_id: str) -> str | None:
        """The PBX of a call the book holds (docs/pbxs.md); None when it holds none."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        return None if leg is None else leg.pbx

    def pbx_of_agent_leg(self, channel: str) -> str | None:
        """The PBX of the call whose agent's channel is ``channel`` (a recording paused on that leg)."""
        for leg in self._legs.values():
            if leg.agent_leg == channel or leg.consult_leg == channel:
                return leg.pbx
        return None

    def agent_leg_of(self, call_id: str) -> str | None:
        """The agent's channel of a call in conversation (recording pauses are sent to it)."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or leg.phase is not Phase.CONNECTED or not leg.agent_leg:
            return None
        return leg.agent_leg

    def agent_uniqueid_of(self, call_id: str) -> str | None:
        """The Uniqueid of the agent's channel of a call in conversation (its recording's name)."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or leg.phase is not Phase.CONNECTED or not leg.agent_uniqueid:
            return None
        return leg.agent_uniqueid

    def paused_at_of(self, call_id: str) -> float | None:
        """When the recording of a call in conversation was paused, as a restarted ACD found it on the
        agent's leg (``ACD_PAUSED_AT``); None if it was not, or the ACD paused nothing since."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or leg.phase is not Phase.CONNECTED:
            return None
        return leg.paused_at

    def handed_from_of(self, call_id: str, answered_at: float) -> str | None:
        """The file of the stay answered at ``answered_at`` when that is before the handover a restarted
        ACD found (``CallerLeg.handed_from``): the first agent's; None for any other stay."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or leg.handed_from is None or answered_at >= leg.handed_from[0]:
            return None
        return leg.handed_from[1]

    def recording_started_of(self, call_id: str) -> float | None:
        """When the recording of a call in conversation began, if not at the stay's answer: a consulted
        agent's leg records from their answer of the consult (docs/dialplan.md, "Recordings")."""
        uniqueid = self._calls.get(call_id)
        leg = self._legs.get(uniqueid) if uniqueid is not None else None
        if leg is None or leg.phase is not Phase.CONNECTED:
            return None
        return leg.recording_at

    def call_on_agent_leg(self, channel: str) -> str | None:
        """The call whose agent's channel is ``channel`` (a feature code pressed on that leg)."""
        for leg in self._legs.values():
            if leg.phase is Phase.CONNECTED and leg.agent_leg == channel:
                return leg.call_id
        return None

    def ended(self, call_id: str) -> bool:
        """Whether the book held this call's leg and let it go (its Hangup): call control finds no
        channel for a command the core decided a moment before it heard of the Hangup."""
        return call_id in self._ended

    def by_offer(self, offer_id: str) -> CallerLeg | None:
        uniqueid = self._offers.get(offer_id)
        return self._legs.get(uniqueid) if uniqueid is not None else None

    def engaged(self, endpoint: str) -> bool:
        """True while the ACD rings this endpoint or has it connected to a caller."""
        return self._engaged[endpoint] > 0

    def add(self, leg: CallerLeg) -> CallerLeg:
        old = self._legs.get(leg.uniqueid)
        if old is not None:
            self._move(old, Phase.LEFT)
        self._legs[leg.uniqueid] = leg
        self._calls[leg.call_id] = leg.uniqueid
        self._ended.pop(leg.call_id, None)
        phase, leg.phase = leg.phase, Phase.LEFT
        self._move(leg, phase, leg.offer_id, leg.endpoint)
        return leg

    def ring(self, leg: CallerLeg, offer_id: str, endpoint: str) -> None:
        self._move(leg, Phase.RINGING, offer_id, endpoint)

    def connect(
        self, leg: CallerLeg, agent_leg: str = "", agent_uniqueid: str = "", recording_at: float | None = None
    ) -> None:
        self._move(leg, Phase.CONNECTED, leg.offer_id, leg.endpoint)
        leg.agent_leg = agent_leg
        leg.agent_uniqueid = agent_uniqueid
        leg.recording_at = recording_at
        leg.handed_from = None
        leg.paused_at = None
        self.consult_over(leg)

    def consult_recording(self, leg: CallerLeg, channel: str, uniqueid: str, at: float) -> None:
        """The consulted agent answered and their leg records (``channel``, its ``uniqueid``) since ``at``."""
        leg.consult_leg, leg.consult_uniqueid, leg.consult_at = channel, uniqueid, at

    def consult_over(self, leg: CallerLeg) -> None:
        leg.consult_leg, leg.consult_uniqueid, leg.consult_at = "", "", None

    def hand_over(self, leg: CallerLeg, endpoint: str) -> None:
        """An attended transfer completed: the caller talks with ``endpoint`` now, under the same offer
        (the caller's Dial goes on). That agent's channel is known when it records (its consult
        recording goes on as the new stay's); otherwise it is not, and the first agent's leg and
        recording are no longer the call's."""
        self._move(leg, Phase.CONNECTED, leg.offer_id, endpoint)
        if leg.consult_leg.startswith(f"PJSIP/{endpoint}-"):
            leg.agent_leg, leg.agent_uniqueid, leg.recording_at = leg.consult_leg, leg.consult_uniqueid, leg.consult_at
        else:
            leg.agent_leg, leg.agent_uniqueid, leg.recording_at = "", "", None
        self.consult_over(leg)

    def back_to_hold(self, leg: CallerLeg) -> None:
        self._move(leg, Phase.WAITING)

    def end(self, leg: CallerLeg) -> None:
        self._move(leg, Phase.ENDED)

    def leave(self, leg: CallerLeg) -> None:
        self._move(leg, Phase.LEFT)

    def remove(self, uniqueid: str) -> CallerLeg | None:
        leg = self._legs.get(uniqueid)
        if leg is None:
            return None
        phase = leg.phase
        self._move(leg, Phase.LEFT)
        leg.phase = phase  # the caller of remove() still needs to know where it was
        del self._legs[uniqueid]
        if self._calls.get(leg.call_id) == uniqueid:
            del self._calls[leg.call_id]
            self._ended[leg.call_id] = None
            while len(self._ended) > ENDED_KEPT:
                del self._ended[next(iter(self._ended))]
        return leg

    def _move(self, leg: CallerLeg, phase: Phase, offer_id: str = "", endpoint: str = "") -> None:
        if leg.phase in ENGAGING and leg.endpoint:
            self._engaged[leg.endpoint] -= 1
            if self._engaged[leg.endpoint] <= 0:
                del self._engaged[leg.endpoint]
        if leg.offer_id and self._offers.get(leg.offer_id) == leg.uniqueid:
            del self._offers[leg.offer_id]
        leg.phase, leg.offer_id, leg.endpoint = phase, offer_id, endpoint
        if offer_id:
            self._offers[offer_id] = leg.uniqueid
        if phase in ENGAGING and endpoint:
            self._engaged[endpoint] += 1
