"""Translate AMI events into core events: the one place that knows what Asterisk's messages mean.

``Translator.translate(msg)`` is synchronous and does no I/O; it keeps just enough memory (the
``CallerBook`` of caller legs, agent presence, each agent's last call) to turn a stream of
channel-level facts into call-level events without double counting. Mapping, per
docs/dialplan.md:

=========================  ==================================================================
AMI                        core event
=========================  ==================================================================
UserEvent AcdEnqueue       CallArrived (``call_id_for(Uniqueid)``; AcdClaim: what it claimed, docs/dialplan.md)
UserEvent AcdRinging       (none: the core already knows; the leg is marked ringing)
UserEvent AcdAnswered      OfferAnswered
AcdDialResult / DialEnd    NOANSWER → OfferUnanswered, BUSY → OfferRejected, CHANUNAVAIL /
                           CONGESTION / other → OfferFailed, CANCEL → (none),
                           ANSWER → CallEnded (the conversation is over)
Hangup of a caller leg     waiting/ringing → CallerHungUp; connected → CallEnded; else (none)
UserEvent AcdFallback      CallFellBack (holding overflowed the caller to its fallback by itself)
UserEvent AcdOverflowed    (none: the core ordered it; later Hangup is silent)
UserEvent AcdAgent         AgentLoggedIn / LoggedOut / Paused / Resumed / WrapUpDone / DispositionSet
UserEvent AcdRecording     (none: ``on_recording(call_id, action)``, a pause or resume of the recording)
AcdConsultRecording        (none: the consulted agent's leg records; the book keeps it for the handover)
AcdConsultQueue            ConsultRequested for_queue (an agent's phone: *2 then a queue's number)
UserEvent AcdMonitor       MonitorRequested (a supervisor's phone: *56/*57/*58<n>)
UserEvent AcdCallback      CallbackAccepted (the caller took a callback; their Hangup: CallbackCallerGone)
AcdClosedCallback          ClosedCallbackAccepted (a closed queue's caller took one for its opening)
AcdCallbackAt              CallbackTimeAsked (a holding caller keyed a time to be called back at)
AcdClosedCallbackAt        ClosedCallbackAccepted with a time (a closed queue's caller keyed one)
AcdCallbackAtKept          CallbackTimeKept (told that time is kept: their stay ends, their Hangup is silent)
AcdCallbackAtNotKept       CallbackTimeNotKept (not told in time: back to holding, the callback closed)
AcdClosedCallbackNotKept   ClosedCallbackNotKept (not told in time that it is kept: a message instead)
AcdCallbackAnswered        OfferAnswered (the agent accepted a callback; the caller is dialled)
AcdCallbackResult          agent stage: as AcdDialResult; caller stage: CallbackEnded
ContactStatus, DeviceStateChange of an agent's PJSIP endpoint → AgentReachability (on change)
=========================  ==================================================================

Behind Kamailio, an agent's contacts come from Kamailio's location table instead (``registrations``,
fed by ``acd.kamailio``), and ``ContactStatus`` is ignored (``acd.ami.phone_presence``).

Both ``DialEnd`` (Asterisk's own, also raised when a Redirect cancels the Dial) and the
dialplan's ``AcdDialResult`` settle a ringing offer; whichever comes first wins and the other is
ignored, because settling clears the leg's offer.

Nothing is believed unchecked (``acd.ami.fields``): every ``Acd*`` UserEvent must carry the token in
force (``acd.ami.token``), a caller's events the channel headers Asterisk writes, and each field a
value the core can hold (finite times within a window around now, priorities in range, known queues
and agents, well-formed ids, short text without control characters or field separators). A refused
message is counted by reason (``refused``, exported as ``acd_ami_refused_total{reason}``) and
logged at most once per reason per ``LogThrottle`` interval: ``translate`` never raises into the
runtime's single writer loop, and a flood of bad events cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from acd.agent_actions import BY_FEATURE, phone_disposition
from acd.ami import fields
from acd.ami.callers import DIAL_OUTCOMES, LIVE, ON_HANGUP, CallerBook, CallerLeg, Phase
from acd.ami.fields import REASONS, Refused, need
from acd.ami.identity import call_id_for, closed_callback_id
from acd.ami.offer_target import parse_offer_target
from acd.ami.phone_presence import Presence
from acd.ami.reconcile import reconcile
from acd.ami.resync import ResyncResult
from acd.ami.roster import Roster
from acd.ami.token import HEADER as TOKEN_HEADER
from acd.ami.token import EventToken
from acd.core.config import RoutingConfig
from acd.core.events import (
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallbackEnded,
    CallbackTimeAsked,
    CallbackTimeKept,
    CallbackTimeNotKept,
    CallEnded,
    CallerHungUp,
    CallFellBack,
    CallHandedOver,
    CallTransferred,
    CallTransferredOut,
    ClosedCallbackAccepted,
    ClosedCallbackNotKept,
    ConsultEnded,
    ConsultRequested,
    ConsultStarted,
    DispositionSet,
    Event,
    MonitorRequested,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
)
from acd.core.transfer_numbers import is_number
from acd.dialling import bare_endpoint
from acd.log_throttle import LogThrottle

__all__ = ["REASONS", "Malformed", "TranslateCounters", "Translator", "call_id_for"]

log = logging.getLogger(__name__)
CALLBACK_NUMBER_MAX = 32
Malformed = Refused  # the older name


@dataclass(slots=True)
class TranslateCounters:
    translated: int = 0  # messages that produced at least one core event
    ignored: int = 0  # events of no interest (other channels, other event types)
    malformed: int = 0  # refused, whatever the reason
    refused: Counter[str] = field(default_factory=Counter)  # by reason (fields.REASONS)
    malformed_on: Counter[str] = field(default_factory=Counter)  # refused, by the PBX whose link it came on


class Translator:
    """Stateful AMI → core translation. ``acd_has_call(agent_id)`` may add what the core knows;
    ``catalogue(call_id)`` is the disposition catalogue of a known call's queue (None: not known), which
    a phone's ``*55<n>`` picks from (``acd.agent_actions.phone_disposition``); ``agent_call(agent_id)``
    the call that code is for, as the core knows it (the stay the agent answered, also after a
    transfer moved the caller on); without it, the last call the translator saw ring the agent.

    ``token``: the token every ``Acd*`` UserEvent must carry; None only where no PBX is involved
    (recorded traces). ``on_refused(reason)`` is called for each refused message; ``clock`` gives
    the epoch time the window of believable times is centred on.
    """

    def __init__(
        self,
        config: RoutingConfig,
        *,
        acd_has_call: Callable[[str], bool] | None = None,
        catalogue: Callable[[str], Sequence[str] | None] | None = None,
        agent_call: Callable[[str], str | None] | None = None,
        token: EventToken | None = None,
        on_refused: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        quiet: LogThrottle | None = None,
        on_recording: Callable[[str, str], None] | None = None,
        supervisors: Mapping[str, tuple[str, ...] | None] | None = None,
    ) -> None:
        self.counters = TranslateCounters()
        self.token = token
        self._on_refused = on_refused
        self._clock = clock
        self._quiet = quiet or LogThrottle(log)
        self.roster = Roster(config)
        self.book = CallerBook()
        self.presence = Presence()
        self._acd_has_call = acd_has_call
        self._catalogue = catalogue
        self._agent_call = agent_call
        self.on_recording = on_recording  # (call id, "pause" | "resume"): a feature code on the agent's leg
        # (call id, the consulted leg's Uniqueid): a consult that went back recorded a file no stay keeps
        self.on_unkept_recording: Callable[[str, str], None] | None = None
        self._last_call: dict[str, str] = {}  # agent id → call id, for dispositions
        # Uniqueid → call id of callers who took a callback and are still on the line (their name,
        # their goodbye): their Hangup lets the callback be offered (CallbackCallerGone)
        self._taking_callback: dict[str, str] = {}
        # supervisors' phones (endpoint → the queues they may monitor, None: every queue)
        self.supervisors: Mapping[str, tuple[str, ...] | None] = supervisors or {}
        self.pbx_checked = False  # several PBXs: a Uniqueid must name the PBX of its link (docs/pbxs.md)
        self.presence_pbx = "pbx"  # the PBX whose ContactStatus and DeviceStateChange tell reachability
        self.pbx = "pbx"  # the PBX whose link the message being translated came on
        self._events: dict[str, Callable[[Mapping[str, str]], list[Event]]] = {
            "UserEvent": self._user_event,
            "Hangup": self._hangup,
            "DialEnd": self._dial_end,
            "ContactStatus": self._contact_status,
            "DeviceStateChange": self._device_state,
        }
        self._user_events: dict[str, Callable[[Mapping[str, str]], list[Event]]] = {
            "AcdEnqueue": self._enqueue,
            "AcdRinging": self._ringing,
            "AcdAnswered": self._answered,
            "AcdDialResult": self._dial_result,
            "AcdFallback": self._fallback,
            "AcdOverflowed": self._overflowed,
            "AcdAgent": self._agent,
            "AcdRecording": self._recording,
            "AcdTransferred": self._transferred,
            "AcdMonitor": self._monitor,
            "AcdConsult": self._consult,
            "AcdConsultRecording": self._consult_recording,
            "AcdConsultQueue": self._consult_queue,
            "AcdCallback": self._callback,
            "AcdClosedCallback": self._closed_callback,
            "AcdCallbackAt": self._callback_at,
            "AcdClosedCallbackAt": self._closed_callback_at,
            "AcdCallbackAtKept": self._callback_at_kept,
            "AcdCallbackAtNotKept": self._callback_at_not_kept,
            "AcdClosedCallbackNotKept": self._closed_callback_not_kept,
            "AcdCallbackAnswered": self._callback_answered,
            "AcdCallbackResult": self._callback_result,
        }
        # contacts are read from one PBX (``presence_pbx``); device states from each (docs/pbxs.md)
        self._presence_handlers = (self._events["ContactStatus"],)

    def update_config(self, config: RoutingConfig) -> None:
        self.roster = Roster(config)

    def translate(self, msg: Mapping[str, str], pbx: str = "pbx") -> list[Event]:
        """``pbx``: the PBX whose link ``msg`` came on (docs/pbxs.md). With ``pbx_checked`` (several PBXs),
        a message whose ``Uniqueid`` is not ``<pbx>-...``, or whose ``AcdOffer`` is an offer to a caller of
        another PBX (``AcdAnswered``, ``AcdDialResult``, ``AcdCallback*``, the consults' events), is refused
        (``pbx``): one PBX never speaks for another's call. Contacts are read from ``presence_pbx``'s
        messages alone, device states from every PBX's (busy on any is busy)."""
        handler = self._events.get(msg.get("Event", ""))
        if handler is None or (pbx != self.presence_pbx and handler in self._presence_handlers):
            self.counters.ignored += 1
            return []
        self.pbx = pbx
        try:
            if self.pbx_checked and "Uniqueid" in msg and not msg["Uniqueid"].startswith(f"{pbx}-"):
                raise Refused("pbx", f"Uniqueid {fields.shown(msg['Uniqueid'])} is not of {pbx}")
            if self.pbx_checked and "AcdOffer" in msg:  # an offer's events come from its call's PBX
                leg = self.book.by_offer(msg["AcdOffer"])
                if leg is not None and leg.pbx != pbx:
                    raise Refused("pbx", f"offer {fields.shown(msg['AcdOffer'])} is of a call on {leg.pbx}, not {pbx}")
            events = handler(msg)
        except Refused as exc:
            self._refuse(exc.reason, msg, str(exc))
            return []
        except Exception as exc:  # a bug here must not stop the runtime's only writer
            self._refuse("internal", msg, f"{type(exc).__name__}: {exc}", exc)
            return []
        if events:
            self.counters.translated += 1
        else:
            self.counters.ignored += 1
        return events

    def _refuse(self, reason: str, msg: Mapping[str, str], why: str, exc: BaseException | None = None) -> None:
        self.counters.malformed += 1
        self.counters.malformed_on[self.pbx] += 1
        self.counters.refused[reason] += 1
        if self._on_refused is not None:
            self._on_refused(reason)
        name = fields.shown(msg.get("UserEvent", "") or msg.get("Event", ""))
        self._quiet.log(logging.WARNING, reason, "AMI %s refused (%s): %s", name, reason, why, exc_info=exc)

    def engaged(self, endpoint: str) -> bool:
        """Is the ACD ringing or connected to this endpoint (by our legs, or by the core's word)?"""
        if self.book.engaged(endpoint):
            return True
        agent = self.roster.agent_for(endpoint)
        return bool(agent and self._acd_has_call and self._acd_has_call(agent))

    def forget_pbx(self, pbx: str) -> None:
        """The PBX ``pbx`` is lost (docs/pbxs.md, "A PBX dies"): its legs go from the book, so that a
        caller its next resync finds still holding is taken as a new stay, not as one known."""
        for leg in [leg for leg in self.book if leg.pbx == pbx]:
            self.book.remove(leg.uniqueid)

    def devices_gone(self, pbx: str) -> list[Event]:
        """``pbx``'s link is down (several PBXs): its device states no longer count; the reachability
        changes (an agent busy only on that PBX is free again)."""
        engaged = {a: self.engaged(self.roster.endpoint_of[a]) for a in self.roster.agent_ids}
        return list(self.presence.drop(pbx, engaged))

    def reconcile(self, result: ResyncResult, pbx: str = "pbx") -> list[Event]:
        """Diff a resync snapshot of ``pbx`` against what this translator believed of that PBX's calls;
        see ``acd.ami.reconcile``."""
        return reconcile(
            self.book,
            self.presence,
            self.roster,
            self.engaged,
            result,
            pbx=pbx,
            presence=pbx == self.presence_pbx,
            checked=self.pbx_checked,
        )

    def registrations(self, endpoints: frozenset[str]) -> list[Event]:
        """Kamailio's location table, whole (``acd.kamailio``): every configured agent registered or not;
        the reachability changes. Only while the presence follows the registrar."""
        out: list[Event] = []
        for agent in self.roster.agent_ids:
            endpoint = self.roster.endpoint_of[agent]
            # the registrar keeps AoRs in lowercase (acd.kamailio.view)
            change = self.presence.registered(agent, endpoint.lower() in endpoints, self.engaged(endpoint))
            if change is not None:
                out.append(change)
        return out

    # -- calls -------------------------------------------------------------------------------
    def _user_event(self, msg: Mapping[str, str]) -> list[Event]:
        handler = self._user_events.get(msg.get("UserEvent", ""))
        if handler is None:
            return []
        if self.token is not None and not self.token.accepts(msg.get(TOKEN_HEADER, ""), self._clock()):
            raise Refused("token", "no AcdToken, or not the one in force")
        fields.not_injected(msg)
        return handler(msg)

    def _enqueue(self, msg: Mapping[str, str]) -> list[Event]:
        # Raised on the caller's channel: Asterisk writes the channel's headers before the fields.
        uniqueid, channel = fields.uniqueid(msg), fields.channel(msg)
        linkedid = msg.get("Linkedid", "")
        if linkedid and not fields.UNIQUEID.fullmatch(linkedid):
            raise Refused("id", f"ill-formed Linkedid {fields.shown(linkedid)}")
        if "," in msg.get("CallerIDNum", ""):
            # The channel's own number (written by Asterisk before the fields) could split the
            # dialplan's UserEvent arguments: any field after it may be the caller's, not the dialplan's.
            raise Refused("injected", "the caller's number holds a ',': the event's fields cannot be trusted")
        queue = need(msg, "AcdQueue")
        if not self.roster.has_queue(queue):
            raise Refused("queue", f"unknown queue {fields.shown(queue)}")
        priority = fields.priority(msg)
        enqueued_at = fields.epoch(msg, "AcdEnqueued", self._clock())
        caller = fields.caller(msg)
        leg = self.book.get(uniqueid)
        if leg is not None and leg.phase is Phase.WAITING and (leg.queue, leg.priority) == (queue, priority):
            return []  # already known, e.g. seen by a resync that ran after this was raised
        # a claim (docs/dialplan.md, "Claims"): the published target the dialplan claimed, ringing already;
        # one not in the strict form, or of an agent not configured, is no claim the core could stand by
        claim = parse_offer_target(msg.get("AcdClaim", ""))
        claimed_agent = self.roster.agent_for(claim.endpoint) if claim is not None else None
        call = CallArrived(
            call_id=call_id_for(uniqueid),
            queue=queue,
            priority=priority,
            caller=caller,
            enqueued_at=enqueued_at,
            channel=channel,
            uniqueid=uniqueid,
            linkedid=linkedid,
            pbx=self.pbx,
            claimed_offer=claim.offer_id if claim is not None and claimed_agent is not None else "",
            claimed_agent=claimed_agent or "",
        )
        self.book.add(CallerLeg(call.call_id, uniqueid, call.channel, queue, priority, pbx=self.pbx))
        return [call]

    def _leg(self, msg: Mapping[str, str]) -> CallerLeg:
        """The caller leg a channel event is about; a leg we never saw enqueue (restart) is adopted."""
        uniqueid = fields.uniqueid(msg)
        leg = self.book.get(uniqueid)
        if leg is None:
            leg = self.book.add(CallerLeg(call_id_for(uniqueid), uniqueid, fields.channel(msg), pbx=self.pbx))
        return leg

    def _ringing(self, msg: Mapping[str, str]) -> list[Event]:
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        self.book.ring(self._leg(msg), offer_id, endpoint)
        return []

    def _answered(self, msg: Mapping[str, str]) -> list[Event]:
        # Raised on the AGENT's leg by the pre-bridge Gosub: find the caller through the offer.
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        leg = self.book.by_offer(offer_id)
        if leg is not None:
            self.book.connect(leg, msg.get("Channel", ""), msg.get("Uniqueid", ""))
        call_id = leg.call_id if leg is not None else call_id_for(msg.get("Linkedid", ""))
        agent = self.roster.agent_for(endpoint)
        if agent is not None:
            self._last_call[agent] = call_id
        return [OfferAnswered(offer_id)]

    def _dial_result(self, msg: Mapping[str, str]) -> list[Event]:
        uniqueid, offer_id = fields.uniqueid(msg), fields.offer(msg)
        need(msg, "AcdStatus")
        status = fields.word(msg, "AcdStatus").upper()
        leg = self.book.get(uniqueid)
        if leg is not None and leg.offer_id != offer_id:
            return []  # already settled by DialEnd (or stale)
        return self._settle(leg, uniqueid, offer_id, status)

    def _dial_end(self, msg: Mapping[str, str]) -> list[Event]:
        leg = self.book.get(msg.get("Uniqueid", ""))
        status = msg.get("DialStatus", "").upper()
        if leg is None or leg.phase is not Phase.RINGING or status in ("ANSWER", ""):
            return []  # not ours, or answered: AcdAnswered carries that
        return self._settle(leg, leg.uniqueid, leg.offer_id, status)

    def _settle(self, leg: CallerLeg | None, uniqueid: str, offer_id: str, status: str) -> list[Event]:
        outcome = DIAL_OUTCOMES.get(status, "failed")
        if outcome == "ended":
            if leg is None:
                return [CallEnded(call_id_for(uniqueid))]
            events: list[Event] = [OfferAnswered(offer_id)] if leg.phase is Phase.RINGING else []
            if leg.phase in (Phase.RINGING, Phase.CONNECTED):
                self.book.end(leg)
                events.append(CallEnded(leg.call_id))
            return events
        if leg is not None and leg.phase is Phase.RINGING:
            self.book.back_to_hold(leg)
        if outcome == "unanswered":
            return [OfferUnanswered(offer_id)]
        if outcome == "rejected":
            return [OfferRejected(offer_id)]
        if outcome == "failed":
            return [OfferFailed(offer_id, reason=status.lower())]
        return []  # cancelled: the ACD asked for it, or the caller's Hangup will tell

    def _transferred(self, msg: Mapping[str, str]) -> list[Event]:
        """The agent transferred the caller blind (raised on the caller's channel by ``acd-transfer``,
        docs/dialplan.md "Transfers"): to a queue (``AcdQueue``: the caller waits there now; with
        ``AcdTarget``, an agent's endpoint, for that agent first), or to an allowed outside number
        (``AcdNumber``: the caller leaves the ACD).

        Believed only for a caller the book holds as talking, under the offer that connected them,
        to the agent of that offer: an event that names another offer or agent is refused.
        """
        uniqueid = fields.uniqueid(msg)
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        kind = fields.word(msg, "AcdKind").lower()
        if kind == "attended":
            return self._handed_over(msg)
        if kind != "blind":
            raise Refused("text", f"unknown AcdKind {fields.shown(kind)}")
        queue, number = msg.get("AcdQueue", ""), msg.get("AcdNumber", "")
        if bool(queue) == bool(number):
            raise Refused("field", "AcdTransferred needs one of AcdQueue and AcdNumber")
        if queue and not self.roster.has_queue(queue):
            raise Refused("queue", f"unknown queue {fields.shown(queue)}")
        if number and not is_number(number):
            raise Refused("number", f"AcdNumber {fields.shown(number)} is not a number")
        leg = self.book.get(uniqueid)
        if leg is None or leg.phase is not Phase.CONNECTED or leg.offer_id != offer_id or leg.endpoint != endpoint:
            raise Refused("state", "AcdTransferred for a caller not talking under that offer and agent")
        agent = self.roster.agent_for(endpoint)
        if agent is None:
            raise Refused("agent", f"unknown agent endpoint {fields.shown(endpoint)}")
        if number:
            self.book.end(leg)
            return [CallTransferredOut(leg.call_id, agent, number)]
        target_endpoint = fields.endpoint(msg, "AcdTarget") if msg.get("AcdTarget") else ""
        # an endpoint no agent has: a transfer to the queue (the PBX has moved the caller already)
        target = (self.roster.agent_for(target_endpoint) or "") if target_endpoint else ""
        self.book.back_to_hold(leg)
        leg.queue = queue
        return [CallTransferred(leg.call_id, agent, queue, "blind", target_agent=target)]

    def _consulting(self, msg: Mapping[str, str]) -> tuple[CallerLeg, str, str, str]:
        """The caller, the transferring agent, the consulted agent and the consulted outside number
        of an attended transfer's event: raised on the consult leg (a Local channel) or on the
        transferring agent's own leg, for a caller the book holds as talking, under that offer, to that
        agent; the target a known agent, or (``AcdNumber``, no ``AcdTarget``) a number of digits."""
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        number = msg.get("AcdNumber", "")
        if number and (msg.get("AcdTarget") or not is_number(number)):
            raise Refused("number", f"AcdNumber {fields.shown(number)} is not a number, or comes with AcdTarget")
        target_endpoint = "" if number else fields.endpoint(msg, "AcdTarget")
        tech, _, name = msg.get("Channel", "").partition("/")
        if tech.upper() == "PJSIP" and name.rpartition("-")[0] != endpoint:
            raise Refused("injected", f"AcdAgent {fields.shown(endpoint)} raised on {fields.shown(name)}")
        if tech.upper() not in ("PJSIP", "LOCAL"):
            raise Refused("channel", f"an attended transfer's event on {fields.shown(tech)}")
        leg = self.book.by_offer(offer_id)
        if leg is None or leg.phase is not Phase.CONNECTED or leg.endpoint != endpoint:
            raise Refused("state", "an attended transfer's event for a caller not talking under that offer and agent")
        agent = self.roster.agent_for(endpoint)
        target = "" if number else self.roster.agent_for(target_endpoint)
        if agent is None or target is None:
            raise Refused(
                "agent", f"unknown agent endpoint {fields.shown(endpoint)} or {fields.shown(target_endpoint)}"
            )
        return leg, agent, target, number

    def _consult(self, msg: Mapping[str, str]) -> list[Event]:
        """A consult leg started or ended (``acd-transfer``'s ``agent-<endpoint>`` or ``consult-<number>``,
        docs/dialplan.md "Transfers"): the consulted agent is busy from the start, ready again at the end."""
        status = fields.word(msg, "AcdStatus").lower()
        if status not in ("start", "end"):
            raise Refused("field", f"unknown consult AcdStatus {fields.shown(status)}")
        leg, agent, target, number = self._consulting(msg)
        if status == "start":
            return [ConsultStarted(leg.call_id, agent, target, number)]
        if leg.consult_uniqueid:  # docs/records.md, "Recordings": a consult's file that became no stay's
            log.info(
                "call %s: consult recording %s.wav belongs to no stay: deleted", leg.call_id[:8], leg.consult_uniqueid
            )
            if self.on_unkept_recording is not None:
                self.on_unkept_recording(leg.call_id, leg.consult_uniqueid)
        self.book.consult_over(leg)
        return [ConsultEnded(leg.call_id, agent, target, number)]

    def _consult_queue(self, msg: Mapping[str, str]) -> list[Event]:
        """An agent pressed ``*2`` then a queue's number (``acd-transfer``'s ``consult-queue``, docs/dialplan.md
        "Transfers"): the consult leg waits to be told the agent the ACD picks for that queue. Raised on
        that leg (a ``Local/`` channel, whose name the core's answer goes to), for a caller the book holds
        as talking, under that offer, to that agent; the queue one the ACD has. The core checks the rest
        (the call talks, no consult open, an agent ready there) as for the REST API's."""
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        channel = fields.channel(msg)
        if channel.partition("/")[0].upper() != "LOCAL":
            raise Refused("channel", f"a queue's consult asked on {fields.shown(channel)}, not a consult leg")
        queue = need(msg, "AcdQueue")
        if not self.roster.has_queue(queue):
            raise Refused("queue", f"unknown queue {fields.shown(queue)}")
        leg = self.book.by_offer(offer_id)
        if leg is None or leg.phase is not Phase.CONNECTED or leg.endpoint != endpoint:
            raise Refused("state", "a queue's consult for a caller not talking under that offer and agent")
        agent = self.roster.agent_for(endpoint)
        if agent is None:
            raise Refused("agent", f"unknown agent endpoint {fields.shown(endpoint)}")
        return [ConsultRequested(leg.call_id, "", for_queue=queue, phone_leg=channel, phone_agent=agent)]

    def _consult_recording(self, msg: Mapping[str, str]) -> list[Event]:
        """The consulted agent answered a recorded caller's consult and their leg records from now on
        (``acd-consult-answered``, docs/dialplan.md "Recordings"): raised on that agent's own leg, for a
        caller the book holds as talking, under that offer, to the transferring agent. Kept until the
        handover, when that leg and its recording become the new stay's."""
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        target_endpoint = fields.endpoint(msg, "AcdTarget")
        channel, uniqueid = fields.channel(msg), fields.uniqueid(msg)
        tech, _, name = channel.partition("/")
        if tech.upper() != "PJSIP" or name.rpartition("-")[0] != target_endpoint or target_endpoint == endpoint:
            raise Refused("injected", f"AcdTarget {fields.shown(target_endpoint)} raised on {fields.shown(name)}")
        leg = self.book.by_offer(offer_id)
        if leg is None or leg.phase is not Phase.CONNECTED or leg.endpoint != endpoint:
            raise Refused("state", "a consult's recording for a caller not talking under that offer and agent")
        if self.roster.agent_for(endpoint) is None or self.roster.agent_for(target_endpoint) is None:
            raise Refused(
                "agent", f"unknown agent endpoint {fields.shown(endpoint)} or {fields.shown(target_endpoint)}"
            )
        self.book.consult_recording(leg, channel, uniqueid, self._clock())
        return []

    def _handed_over(self, msg: Mapping[str, str]) -> list[Event]:
        """An attended transfer completed (``acd-consult-complete`` on the agent's leg, or the consult
        leg's end once Asterisk joined the caller and the consulted agent)."""
        leg, agent, target, number = self._consulting(msg)
        if number:  # joined to the outside number: the caller leaves the ACD
            self.book.end(leg)
            return [CallHandedOver(leg.call_id, agent, "", number=number)]
        target_endpoint = fields.endpoint(msg, "AcdTarget")
        self.book.hand_over(leg, target_endpoint)
        self._last_call[target] = leg.call_id
        return [CallHandedOver(leg.call_id, agent, target)]

    # -- callbacks (docs/dialplan.md, "Callbacks") ---------------------------------------------
    def _callback(self, msg: Mapping[str, str]) -> list[Event]:
        """A holding caller took the callback (raised on their channel by acd-hold, after they
        confirmed the number they called from, or keyed in another: the core checks which it may be):
        the call keeps its place without the channel."""
        number = msg.get("AcdNumber", "")
        if not number.isascii() or not number.isdigit() or len(number) > CALLBACK_NUMBER_MAX:
            raise Refused("number", f"AcdNumber {fields.shown(number)} is not 1 to 32 digits")
        leg = self.book.get(fields.uniqueid(msg))
        if leg is None or leg.phase is not Phase.WAITING:
            raise Refused("state", "AcdCallback for a caller not holding")
        self.book.leave(leg)  # the caller hangs up next: not an abandon
        self._taking_callback[leg.uniqueid] = leg.call_id
        return [CallbackAccepted(leg.call_id, number)]

    def _closed_callback(self, msg: Mapping[str, str]) -> list[Event]:
        """A caller of a closed queue, sent to acd-overflow's ``callback`` (the core's closed
        treatment, so no longer holding), took a callback for the queue's next opening."""
        number = msg.get("AcdNumber", "")
        if not number.isascii() or not number.isdigit() or len(number) > CALLBACK_NUMBER_MAX:
            raise Refused("number", f"AcdNumber {fields.shown(number)} is not 1 to 32 digits")
        leg = self.book.get(fields.uniqueid(msg))
        if leg is None or leg.phase is not Phase.LEFT:
            raise Refused("state", "AcdClosedCallback for a caller who did not meet a closed treatment")
        return [ClosedCallbackAccepted(leg.call_id, closed_callback_id(leg.call_id), number)]

    def _closed_callback_at(self, msg: Mapping[str, str]) -> list[Event]:
        """A caller of a closed queue keyed a time (``AcdTime``, HHMM: the dialplan checked its shape,
        the core checks it against the queue's hours and holidays) to be called back at ``AcdNumber``.
        Raised on their own channel (Uniqueid and Channel both the closed caller's leg)."""
        number, at = _number_and_time(msg)
        leg = self.book.get(fields.uniqueid(msg))
        if leg is None or leg.phase is not Phase.LEFT:
            raise Refused("state", "AcdClosedCallbackAt for a caller who did not meet a closed treatment")
        if leg.channel != fields.channel(msg):
            raise Refused("channel", f"AcdClosedCallbackAt from {fields.shown(fields.channel(msg))}, not the caller's")
        return [ClosedCallbackAccepted(leg.call_id, closed_callback_id(leg.call_id), number, at)]

    def _callback_at(self, msg: Mapping[str, str]) -> list[Event]:
        """A holding caller keyed a time (``AcdTime``, HHMM: the dialplan checked its shape, the core
        checks it against the day and the queue's hours) to be called back at ``AcdNumber``. They
        are still holding, until the dialplan says whether they were told it is kept (below)."""
        number, at = _number_and_time(msg)
        leg = self.book.get(fields.uniqueid(msg))
        if leg is None or leg.phase is not Phase.WAITING:
            raise Refused("state", "AcdCallbackAt for a caller not holding")
        return [CallbackTimeAsked(leg.call_id, closed_callback_id(leg.call_id), number, at)]

    def _callback_at_kept(self, msg: Mapping[str, str]) -> list[Event]:
        """That holding caller heard their time is kept (``ACD_CB_KEPT=1`` seen): their stay ends, and
        their Hangup is no abandon. Raised on their own channel (Uniqueid and Channel both theirs)."""
        leg = self._holding_caller(msg, "AcdCallbackAtKept")
        self.book.leave(leg)
        return [CallbackTimeKept(leg.call_id, closed_callback_id(leg.call_id))]

    def _callback_at_not_kept(self, msg: Mapping[str, str]) -> list[Event]:
        """That holding caller's wait for ``ACD_CB_KEPT`` ran out: back to the music, still holding;
        the callback their ``AcdCallbackAt`` asked for is closed. Raised on their own channel."""
        leg = self._holding_caller(msg, "AcdCallbackAtNotKept")
        return [CallbackTimeNotKept(leg.call_id, closed_callback_id(leg.call_id))]

    def _holding_caller(self, msg: Mapping[str, str], name: str) -> CallerLeg:
        uniqueid, channel = fields.uniqueid(msg), fields.channel(msg)
        leg = self.book.get(uniqueid)
        if leg is None or leg.phase is not Phase.WAITING:
            raise Refused("state", f"{name} for a caller not holding")
        if leg.channel != channel:
            raise Refused("channel", f"{name} from {fields.shown(channel)}, not the caller's channel")
        return leg

    def _closed_callback_not_kept(self, msg: Mapping[str, str]) -> list[Event]:
        """That caller's wait for ``ACD_CB_KEPT`` ran out: they leave a message, and the callback their
        ``AcdClosedCallback`` asked for is closed. Raised on their own channel: the Uniqueid and the
        Channel must both be the closed caller's leg, so no other channel can call someone's callback off."""
        uniqueid, channel = fields.uniqueid(msg), fields.channel(msg)
        leg = self.book.get(uniqueid)
        if leg is None or leg.phase is not Phase.LEFT:
            raise Refused("state", "AcdClosedCallbackNotKept for a caller who did not meet a closed treatment")
        if leg.channel != channel:
            raise Refused("channel", f"AcdClosedCallbackNotKept from {fields.shown(channel)}, not the caller's channel")
        return [ClosedCallbackNotKept(leg.call_id, closed_callback_id(leg.call_id))]

    def _callback_answered(self, msg: Mapping[str, str]) -> list[Event]:
        # raised on the agent's leg (the far half of acd-callback-agent's Dial) when they answer
        offer_id, endpoint = fields.offer(msg), fields.endpoint(msg)
        if self.roster.agent_for(endpoint) is None:
            raise Refused("agent", f"unknown agent endpoint {fields.shown(endpoint)}")
        return [OfferAnswered(offer_id)]

    def _callback_result(self, msg: Mapping[str, str]) -> list[Event]:
        """A callback's Dial ended: the agent's (``AcdStage: agent``, not answered: a miss like any
        other) or the caller's (``AcdStage: caller``: the conversation over, or the caller not reached)."""
        offer_id = fields.offer(msg)
        status = fields.word(msg, "AcdStatus").upper() or "CHANUNAVAIL"
        stage = fields.word(msg, "AcdStage").lower()
        if stage == "caller":
            return [CallbackEnded(offer_id, status)]
        if stage != "agent":
            raise Refused("field", f"unknown AcdStage {fields.shown(stage)}")
        outcome = DIAL_OUTCOMES.get(status, "failed")
        if outcome == "unanswered":
            return [OfferUnanswered(offer_id)]
        if outcome == "rejected":
            return [OfferRejected(offer_id)]
        if outcome == "failed":
            return [OfferFailed(offer_id, reason=status.lower())]
        return []  # ANSWER: AcdCallbackAnswered said so; CANCEL: nothing rang to the end

    def _hangup(self, msg: Mapping[str, str]) -> list[Event]:
        uniqueid = msg.get("Uniqueid", "")
        taken = self._taking_callback.pop(uniqueid, None)
        leg = self.book.remove(uniqueid)
        if taken is not None:  # the caller who took a callback is off the line: it may be offered now
            return [CallbackCallerGone(taken)]
        if leg is None:
            return []
        meaning = ON_HANGUP[leg.phase]
        if meaning == "caller_hung_up":
            return [CallerHungUp(leg.call_id)]
        if meaning == "call_ended":
            return [CallEnded(leg.call_id, reason="hangup")]
        return []

    def _fallback(self, msg: Mapping[str, str]) -> list[Event]:
        # Holding gave up on the ACD (stale heartbeat, safety max wait) and sent the caller on.
        reason = fields.word(msg, "AcdReason").strip().lower().replace(" ", "_")
        leg = self._leg(msg)
        if leg.phase not in LIVE:
            return []
        self.book.leave(leg)
        return [CallFellBack(leg.call_id, reason)]

    def _overflowed(self, msg: Mapping[str, str]) -> list[Event]:
        leg = self._leg(msg)
        if leg.phase in LIVE:
            self.book.leave(leg)
        return []

    def _recording(self, msg: Mapping[str, str]) -> list[Event]:
        # Raised by the agent's feature code (*7 pause, *8 resume) on the agent's own leg, which
        # AcdAnswered named: the call is the one in conversation on that channel, nothing else.
        action = fields.word(msg, "AcdAction").lower()
        if action not in ("pause", "resume"):
            raise Refused("field", f"unknown recording AcdAction {fields.shown(action)}")
        call_id = self.book.call_on_agent_leg(fields.channel(msg))
        if call_id is None:
            raise Refused("state", "recording feature on a channel with no call in conversation")
        if self.on_recording is not None:
            self.on_recording(call_id, action)
        return []

    # -- agents ------------------------------------------------------------------------------
    def _agent(self, msg: Mapping[str, str]) -> list[Event]:
        action = fields.word(msg, "AcdAction").lower()
        endpoint = bare_endpoint(need(msg, "AcdAgent"))
        if not fields.ENDPOINT.fullmatch(endpoint):
            raise Refused("id", f"ill-formed AcdAgent {fields.shown(endpoint)}")
        tech, _, name = msg.get("Channel", "").partition("/")
        if tech.upper() == "PJSIP" and name.rpartition("-")[0] not in ("", endpoint):
            # Raised on the agent's own phone: a dialled code that smuggled in another AcdAgent
            # ("*521,AcdAgent:agent3") would otherwise act for someone else.
            raise Refused("injected", f"AcdAgent {fields.shown(endpoint)} raised on {fields.shown(name)}")
        agent = self.roster.agent_for(endpoint)
        if agent is None:
            raise Refused("agent", f"unknown agent endpoint {fields.shown(endpoint)}")
        reason = fields.word(msg, "AcdReason")
        if action == "disposition":
            call_id = (self._agent_call(agent) if self._agent_call is not None else None) or self._last_call.get(agent)
            if call_id is None:
                raise Refused("state", f"disposition from {agent} with no known last call")
            if not reason:
                raise Refused("field", "missing AcdReason")
            catalogue = self._catalogue(call_id) if self._catalogue is not None else None
            code = None if catalogue is None else phone_disposition(catalogue, reason)
            if code is None:
                why = "its queue is not known" if catalogue is None else f"its queue's catalogue has {len(catalogue)}"
                raise Refused(
                    "disposition", f"{agent} dialled disposition {fields.shown(reason)} for call {call_id}: {why}"
                )
            return [DispositionSet(call_id, code)]
        known = BY_FEATURE.get(action)
        if known is None:
            raise Refused("agent", f"unknown AcdAction {fields.shown(action)}")
        return [known.event(agent, reason)]

    def _monitor(self, msg: Mapping[str, str]) -> list[Event]:
        """A supervisor's phone asks to join agent ``<n>``'s call (docs/dialplan.md, "Supervisor
        monitoring"); the core checks the call and the phone's queues, call control sends the phone on."""
        mode = fields.word(msg, "AcdMode").lower()
        if mode not in ("listen", "whisper", "barge"):
            raise Refused("field", f"unknown AcdMode {fields.shown(mode)}")
        supervisor = fields.endpoint(msg, "AcdSupervisor")
        channel = fields.channel(msg)
        tech, _, name = channel.partition("/")
        if tech.upper() != "PJSIP" or name.rpartition("-")[0] != supervisor:
            raise Refused("injected", f"AcdSupervisor {fields.shown(supervisor)} raised on {fields.shown(channel)}")
        if supervisor not in self.supervisors:
            raise Refused("agent", f"{fields.shown(supervisor)} is not a supervisor's phone")
        number = fields.word(msg, "AcdAgentNumber")
        agent = self.roster.agent_numbered(number) if number.isdigit() and len(number) <= 8 else None
        if agent is None:
            raise Refused("agent", f"no one agent numbered {fields.shown(number)}")
        log.info("monitor: %s asks to %s agent %s (feature code)", supervisor, mode, agent)
        return [
            MonitorRequested(
                supervisor,
                mode,  # type: ignore[arg-type]  # one of the three, checked above
                agent_id=agent,
                queues=self.supervisors[supervisor],
                supervisor_channel=channel,
                pbx=self.pbx if self.pbx_checked else None,  # several PBXs: the call must be on this one
            )
        ]

    def _contact_status(self, msg: Mapping[str, str]) -> list[Event]:
        endpoint = msg.get("EndpointName") or msg.get("AOR", "")
        agent = self.roster.agent_for(endpoint)
        if agent is None:
            return []
        try:
            change = self.presence.contact(
                agent, msg.get("URI", ""), need(msg, "ContactStatus"), self.engaged(endpoint)
            )
        except ValueError as exc:
            raise Refused("text", str(exc)) from None
        return [change] if change is not None else []

    def _device_state(self, msg: Mapping[str, str]) -> list[Event]:
        tech, _, endpoint = need(msg, "Device").partition("/")
        agent = self.roster.agent_for(endpoint) if tech.upper() == "PJSIP" else None
        if agent is None:
            return []
        change = self.presence.device(agent, need(msg, "State"), self.engaged(endpoint), self.pbx)
        return [change] if change is not None else []


def _number_and_time(msg: Mapping[str, str]) -> tuple[str, str]:
    """A keyed callback's ``AcdNumber`` (1 to 32 ASCII digits) and ``AcdTime`` (HHMM), or Refused."""
    number, at = msg.get("AcdNumber", ""), msg.get("AcdTime", "")
    if not number.isascii() or not number.isdigit() or len(number) > CALLBACK_NUMBER_MAX:
        raise Refused("number", f"AcdNumber {fields.shown(number)} is not 1 to 32 digits")
    if len(at) != 4 or not at.isascii() or not at.isdigit():
        raise Refused("field", f"AcdTime {fields.shown(at)} is not HHMM")
    return number, at
