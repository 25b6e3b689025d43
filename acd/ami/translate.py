"""Translate AMI events into core events: the one place that knows what Asterisk's messages mean.

``Translator.translate(msg)`` is synchronous and does no I/O; it keeps just enough memory (the
``CallerBook`` of caller legs, agent presence, each agent's last call) to turn a stream of
channel-level facts into call-level events without double counting. Mapping, per
docs/dialplan.md:

=========================  ==================================================================
AMI                        core event
=========================  ==================================================================
UserEvent AcdEnqueue       CallArrived (call_id = ``call_id_for(Uniqueid)``)
UserEvent AcdRinging       (none: the core already knows; the leg is marked ringing)
UserEvent AcdAnswered      OfferAnswered
AcdDialResult / DialEnd    NOANSWER → OfferUnanswered, BUSY → OfferRejected, CHANUNAVAIL /
                           CONGESTION / other → OfferFailed, CANCEL → (none),
                           ANSWER → CallEnded (the conversation is over)
Hangup of a caller leg     waiting/ringing → CallerHungUp; connected → CallEnded; else (none)
UserEvent AcdFallback      CallFellBack (holding overflowed the caller to its fallback by itself)
UserEvent AcdOverflowed    (none: the core ordered it; later Hangup is silent)
UserEvent AcdAgent         AgentLoggedIn / LoggedOut / Paused / Resumed / WrapUpDone / DispositionSet
ContactStatus, DeviceStateChange of an agent's PJSIP endpoint → AgentReachability (on change)
=========================  ==================================================================

Both ``DialEnd`` (Asterisk's own, also raised when a Redirect cancels the Dial) and the
dialplan's ``AcdDialResult`` settle a ringing offer; whichever comes first wins and the other is
ignored, because settling clears the leg's offer. Malformed messages are logged with the reason,
counted, and dropped: ``translate`` never raises into the runtime's single writer loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from acd.ami.callers import DIAL_OUTCOMES, LIVE, ON_HANGUP, CallerBook, CallerLeg, Phase
from acd.ami.identity import call_id_for
from acd.ami.presence import Presence
from acd.ami.reconcile import reconcile
from acd.ami.resync import ResyncResult
from acd.ami.roster import AGENT_ACTIONS, Roster
from acd.core.config import RoutingConfig
from acd.core.events import (
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallFellBack,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
)

__all__ = ["Malformed", "TranslateCounters", "Translator", "call_id_for"]

log = logging.getLogger(__name__)


class Malformed(Exception):
    """A message we should understand but cannot: missing header, bad number, unknown queue."""


@dataclass(slots=True)
class TranslateCounters:
    translated: int = 0  # messages that produced at least one core event
    ignored: int = 0  # events of no interest (other channels, other event types)
    malformed: int = 0


def need(msg: Mapping[str, str], key: str) -> str:
    value = msg.get(key)
    if not value:
        raise Malformed(f"missing {key}")
    return value


class Translator:
    """Stateful AMI → core translation. ``acd_has_call(agent_id)`` may add what the core knows."""

    def __init__(self, config: RoutingConfig, *, acd_has_call: Callable[[str], bool] | None = None) -> None:
        self.counters = TranslateCounters()
        self.roster = Roster(config)
        self.book = CallerBook()
        self.presence = Presence()
        self._acd_has_call = acd_has_call
        self._last_call: dict[str, str] = {}  # agent id → call id, for dispositions
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
        }

    def update_config(self, config: RoutingConfig) -> None:
        self.roster = Roster(config)

    def translate(self, msg: Mapping[str, str]) -> list[Event]:
        handler = self._events.get(msg.get("Event", ""))
        if handler is None:
            self.counters.ignored += 1
            return []
        try:
            events = handler(msg)
        except Malformed as exc:
            self.counters.malformed += 1
            log.warning("AMI %s %s dropped: %s", msg.get("Event"), msg.get("UserEvent", ""), exc)
            return []
        except Exception:  # a bug here must not stop the runtime's only writer
            self.counters.malformed += 1
            log.exception("AMI %s could not be translated", msg.get("Event"))
            return []
        if events:
            self.counters.translated += 1
        else:
            self.counters.ignored += 1
        return events

    def engaged(self, endpoint: str) -> bool:
        """Is the ACD ringing or connected to this endpoint (by our legs, or by the core's word)?"""
        if self.book.engaged(endpoint):
            return True
        agent = self.roster.agent_for(endpoint)
        return bool(agent and self._acd_has_call and self._acd_has_call(agent))

    def reconcile(self, result: ResyncResult) -> list[Event]:
        """Diff a resync snapshot against what this translator believed; see ``acd.ami.reconcile``."""
        return reconcile(self.book, self.presence, self.roster, self.engaged, result)

    # -- calls -------------------------------------------------------------------------------
    def _user_event(self, msg: Mapping[str, str]) -> list[Event]:
        handler = self._user_events.get(msg.get("UserEvent", ""))
        return handler(msg) if handler is not None else []

    def _enqueue(self, msg: Mapping[str, str]) -> list[Event]:
        uniqueid = need(msg, "Uniqueid")
        queue = need(msg, "AcdQueue")
        if not self.roster.has_queue(queue):
            raise Malformed(f"unknown queue {queue!r}")
        try:
            priority = int(need(msg, "AcdPriority"))
            enqueued = msg.get("AcdEnqueued")
            enqueued_at = float(enqueued) if enqueued else None
        except ValueError as exc:
            raise Malformed(f"bad number: {exc}") from None
        leg = self.book.get(uniqueid)
        if leg is not None and leg.phase is Phase.WAITING and (leg.queue, leg.priority) == (queue, priority):
            return []  # already known, e.g. seen by a resync that ran after this was raised
        call = CallArrived(
            call_id=call_id_for(uniqueid),
            queue=queue,
            priority=priority,
            caller=msg.get("AcdCaller", ""),
            enqueued_at=enqueued_at,
            channel=msg.get("Channel", ""),
            uniqueid=uniqueid,
            linkedid=msg.get("Linkedid", ""),
        )
        self.book.add(CallerLeg(call.call_id, uniqueid, call.channel, queue, priority))
        return [call]

    def _leg(self, msg: Mapping[str, str]) -> CallerLeg:
        """The caller leg a channel event is about; a leg we never saw enqueue (restart) is adopted."""
        uniqueid = need(msg, "Uniqueid")
        leg = self.book.get(uniqueid)
        if leg is None:
            leg = self.book.add(CallerLeg(call_id_for(uniqueid), uniqueid, msg.get("Channel", "")))
        return leg

    def _ringing(self, msg: Mapping[str, str]) -> list[Event]:
        self.book.ring(self._leg(msg), need(msg, "AcdOffer"), need(msg, "AcdAgent"))
        return []

    def _answered(self, msg: Mapping[str, str]) -> list[Event]:
        # Raised on the AGENT's leg by the pre-bridge Gosub: find the caller through the offer.
        offer_id, endpoint = need(msg, "AcdOffer"), need(msg, "AcdAgent")
        leg = self.book.by_offer(offer_id)
        if leg is not None:
            self.book.connect(leg)
        call_id = leg.call_id if leg is not None else call_id_for(msg.get("Linkedid", ""))
        agent = self.roster.agent_for(endpoint)
        if agent is not None:
            self._last_call[agent] = call_id
        return [OfferAnswered(offer_id)]

    def _dial_result(self, msg: Mapping[str, str]) -> list[Event]:
        uniqueid, offer_id = need(msg, "Uniqueid"), need(msg, "AcdOffer")
        status = need(msg, "AcdStatus").upper()
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

    def _hangup(self, msg: Mapping[str, str]) -> list[Event]:
        leg = self.book.remove(msg.get("Uniqueid", ""))
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
        leg = self._leg(msg)
        if leg.phase not in LIVE:
            return []
        self.book.leave(leg)
        return [CallFellBack(leg.call_id, msg.get("AcdReason", "").strip().lower())]

    def _overflowed(self, msg: Mapping[str, str]) -> list[Event]:
        leg = self._leg(msg)
        if leg.phase in LIVE:
            self.book.leave(leg)
        return []

    # -- agents ------------------------------------------------------------------------------
    def _agent(self, msg: Mapping[str, str]) -> list[Event]:
        action = need(msg, "AcdAction").lower()
        endpoint = need(msg, "AcdAgent")
        agent = self.roster.agent_for(endpoint)
        if agent is None:
            raise Malformed(f"unknown agent endpoint {endpoint!r}")
        if action == "disposition":
            call_id = self._last_call.get(agent)
            if call_id is None:
                raise Malformed(f"disposition from {agent} with no known last call")
            return [DispositionSet(call_id, need(msg, "AcdReason"))]
        make = AGENT_ACTIONS.get(action)
        if make is None:
            raise Malformed(f"unknown AcdAction {action!r}")
        return [make(agent, msg.get("AcdReason", ""))]

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
            raise Malformed(str(exc)) from None
        return [change] if change is not None else []

    def _device_state(self, msg: Mapping[str, str]) -> list[Event]:
        tech, _, endpoint = need(msg, "Device").partition("/")
        agent = self.roster.agent_for(endpoint) if tech.upper() == "PJSIP" else None
        if agent is None:
            return []
        change = self.presence.device(agent, need(msg, "State"), self.engaged(endpoint))
        return [change] if change is not None else []
