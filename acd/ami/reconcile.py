"""Reconcile: diff a resync snapshot against the translator's memory, as core events.

While the link was down Asterisk kept going: callers hung up, rang out, were answered. The
snapshot says where every ACD caller is now; the difference to what we knew becomes the events
we missed. A leg we knew that is gone becomes the event its Hangup would have produced (a
conversation's end at the time the PBX wrote into AstDB, see ``EndTrace``); a leg we
knew ringing that is back in holding had its offer end unseen (``OfferFailed(reason="lost")``,
so the core frees the agent); a caller we never heard of becomes ``CallArrived`` with its
original ``enqueued_at``. Agent reachability is reported in full, for every configured agent.

A caller found already talking to an agent we never heard of (the ACD restarted) becomes
``CallInProgress``, answered when the channel says (``SHARED(ACD_ANSWERED)``): the core takes the
call over, so the agent is on a call and the call's end closes its interaction; the agent's leg
(the caller's ``BRIDGEPEER``) and the recording's file (``SHARED(ACD_RECORDING)``) are known again, so
its recording can be paused and is recorded when the call ends. Without that time
(a channel answered under an older dialplan) the leg is only tracked, so its end is still reported.

A leg we knew ringing whose talk began and ended while the link was down is no abandon: its
``AcdDialResult ANSWER`` was raised while no ACD listened, and its ``Hangup`` alone would read as the
caller hanging up in the ring. It is answered and ended (``OfferAnswered`` at the answer the PBX kept,
``CallEnded`` at the traced end, else now) when the resync finds its channel with the talk over
(``ResyncResult.over``: answered, out of its Dial, in its ``h`` extension), or finds it gone and
the ``acd_ended`` trace of the endpoint it rang names its Uniqueid (docs/dialplan.md, "Ends the ACD
did not see").
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable

from acd.ami.callers import ENGAGING, ON_HANGUP, CallerBook, CallerLeg, Phase
from acd.ami.identity import closed_callback_id
from acd.ami.phone_presence import Presence
from acd.ami.resync import EndTrace, OfferedCaller, ResyncResult
from acd.ami.roster import Roster
from acd.core.events import (
    CallArrived,
    CallbackTimeKept,
    CallEnded,
    CallerHungUp,
    CallInProgress,
    Event,
    OfferAnswered,
    OfferFailed,
)

log = logging.getLogger(__name__)


def reconcile(
    book: CallerBook,
    presence_of: Presence,
    roster: Roster,
    engaged: Callable[[str], bool],
    result: ResyncResult,
    *,
    pbx: str = "pbx",
    presence: bool = True,
    checked: bool = False,
) -> list[Event]:
    """``result`` is the picture of ``pbx``: only that PBX's legs are settled by it (docs/pbxs.md,
    "Resync is scoped"), and reachability is reported only from the PBX that tells it (``presence``).
    ``checked`` (several PBXs): a caller whose ``Uniqueid`` is not ``<pbx>-...`` is not taken from it."""
    events: list[Event] = []
    if checked:
        result = _of_pbx_alone(result, pbx)
    # a caller whose talk is over is still there until its Hangup, which must find it ended
    present = result.present() | {o.call.uniqueid for o in result.over}
    result = _on(result, pbx)
    for o in result.over:
        events.extend(_over(book, o, result))
    for leg in book:
        if leg.pbx != pbx:
            continue
        if leg.uniqueid not in present:
            offer_id = leg.offer_id
            talk = _talk_of(leg, result) if leg.phase is Phase.RINGING else None  # before remove clears them
            book.remove(leg.uniqueid)
            if leg.phase is Phase.WAITING and leg.uniqueid in result.told_kept:
                # told their callback at a time is kept (its AcdCallbackAtKept lost): not an abandon
                events.append(CallbackTimeKept(leg.call_id, closed_callback_id(leg.call_id)))
                continue
            if talk is not None:  # answered, talked and gone while the link was down: no abandon
                events.append(OfferAnswered(offer_id, answered_at=talk.answered_at))
                events.append(_ended(leg.call_id, talk))
                continue
            meaning = ON_HANGUP[leg.phase]
            if meaning == "caller_hung_up":
                events.append(CallerHungUp(leg.call_id))
            elif meaning == "call_ended":
                events.append(_ended(leg.call_id, result.ended_call(leg.uniqueid)))

    calls: list[Event] = []
    for call in result.waiting:
        known = book.get(call.uniqueid)
        call = _named(roster, call)
        if known is None:
            if _adopt(book, roster, call) is not None:
                calls.append(call)
        elif known.phase is Phase.RINGING:
            calls.append(OfferFailed(known.offer_id, reason="lost"))
            book.back_to_hold(known)
    for o in result.ringing:
        calls.extend(_ringing(book, roster, o))
    for o in result.connected:
        calls.extend(_connected(book, roster, o))

    # Presence after the legs are settled (an agent we ring is not "busy elsewhere"), but
    # reported before the calls, so the core routes them with up-to-date agent reachability.
    reachability = _presence(presence_of, roster, engaged, result, pbx, contacts=presence)
    return events + reachability + calls


def _of_pbx_alone(result: ResyncResult, pbx: str) -> ResyncResult:
    """The picture without the callers whose ``Uniqueid`` does not name ``pbx`` (a PBX speaking for
    another's call, or running without its ``systemname``): dropped, and logged."""
    mine = f"{pbx}-"
    waiting = tuple(c for c in result.waiting if c.uniqueid.startswith(mine))
    ringing = tuple(o for o in result.ringing if o.call.uniqueid.startswith(mine))
    connected = tuple(o for o in result.connected if o.call.uniqueid.startswith(mine))
    over = tuple(o for o in result.over if o.call.uniqueid.startswith(mine))
    dropped = len(result.waiting) + len(result.ringing) + len(result.connected) + len(result.over)
    dropped -= len(waiting) + len(ringing) + len(connected) + len(over)
    if not dropped:
        return result
    log.warning("resync of %s: %d callers whose Uniqueid is not of %s, not taken", pbx, dropped, pbx)
    return dataclasses.replace(result, waiting=waiting, ringing=ringing, connected=connected, over=over)


def _on(result: ResyncResult, pbx: str) -> ResyncResult:
    """The picture with every call it found named as on ``pbx``."""
    if pbx == "pbx":
        return result
    return dataclasses.replace(
        result,
        waiting=tuple(dataclasses.replace(c, pbx=pbx) for c in result.waiting),
        ringing=tuple(dataclasses.replace(o, call=dataclasses.replace(o.call, pbx=pbx)) for o in result.ringing),
        connected=tuple(dataclasses.replace(o, call=dataclasses.replace(o.call, pbx=pbx)) for o in result.connected),
        over=tuple(dataclasses.replace(o, call=dataclasses.replace(o.call, pbx=pbx)) for o in result.over),
    )


def _talk_of(leg: CallerLeg, result: ResyncResult) -> EndTrace | None:
    """The trace of the talk a leg we knew ringing had while no ACD listened: ``acd_ended`` of the
    endpoint its offer rang names its Uniqueid, written by acd-connect's h (a ``transfer`` trace is an
    earlier stay's talk, ended by that transfer: this ring was never answered by it)."""
    if not leg.endpoint:
        return None
    return result.ended_call(leg.uniqueid, leg.endpoint, talk_only=True)


def _over(book: CallerBook, o: OfferedCaller, result: ResyncResult) -> list[Event]:
    """A caller found with their talk over (``ResyncResult.over``): a leg we knew ringing under that offer,
    or holding (its ``AcdRinging`` lost with the link: the ACD's offer is the one the channel was dialled
    under), is answered (at the trace's answer, else the channel's ``SHARED(ACD_ANSWERED)``) and ended;
    one we knew talking is ended; at the traced end when the PBX wrote it already, else now. The leg stays
    in the book as ended, so its Hangup (and a late ``AcdDialResult``) says nothing more. A leg we did
    not know, or no longer hold as the ACD's, is left to its Hangup."""
    leg = book.get(o.call.uniqueid)
    if leg is None or leg.phase not in (Phase.WAITING, *ENGAGING):
        return []
    if leg.phase in ENGAGING and leg.offer_id != o.offer_id:
        log.warning("resync: %s ended a talk under offer %s, not the one we knew", o.call.channel, o.offer_id[:8])
        return []
    events: list[Event] = []
    if leg.phase is Phase.CONNECTED:
        # the trace the offer's endpoint wrote (acd-connect's h keys it by the agent it dialled, also after
        # an attended handover), never an earlier stay's transfer trace; none yet: it ends now
        endpoint = o.endpoint or leg.endpoint
        trace = result.ended_call(leg.uniqueid, endpoint, talk_only=True) if endpoint else None
    else:
        book.ring(leg, o.offer_id, leg.endpoint or o.endpoint)
        trace = _talk_of(leg, result)
        events.append(OfferAnswered(o.offer_id, answered_at=o.answered_at if trace is None else trace.answered_at))
    log.info("resync: %s talked and ended while the link was down", o.call.channel)
    book.end(leg)
    events.append(_ended(leg.call_id, trace))
    return events


def _ended(call_id: str, trace: EndTrace | None) -> CallEnded:
    """A conversation that ended unseen: at the time the PBX wrote down, else now."""
    if trace is None:
        return CallEnded(call_id, reason="hangup")
    return CallEnded(call_id, reason="hangup", ended_at=trace.ended_at)


def _named(roster: Roster, call: CallArrived) -> CallArrived:
    """A caller transferred to an agent by name: the resync read that agent's endpoint
    (``ACD_DIRECTED``); the core is told the agent, or nothing when no agent has that endpoint."""
    if not call.directed_to:
        return call
    return dataclasses.replace(call, directed_to=roster.agent_for(call.directed_to) or "")


def _adopt(book: CallerBook, roster: Roster, call: CallArrived) -> CallerLeg | None:
    if not roster.has_queue(call.queue):
        log.warning("resync: %s waits in unknown queue %r; left alone", call.channel, call.queue)
        return None
    return book.add(CallerLeg(call.call_id, call.uniqueid, call.channel, call.queue, call.priority, pbx=call.pbx))


def _ringing(book: CallerBook, roster: Roster, o: OfferedCaller) -> list[Event]:
    leg = book.get(o.call.uniqueid)
    events: list[Event] = []
    if leg is None:
        leg = _adopt(book, roster, o.call)
        if leg is None:
            return []
        events.append(_named(roster, o.call))  # its offer is stale: the runtime cancels offers the core does not know
    elif leg.phase is Phase.RINGING and leg.offer_id == o.offer_id:
        return []
    elif leg.phase is Phase.RINGING:
        events.append(OfferFailed(leg.offer_id, reason="lost"))
    book.ring(leg, o.offer_id, o.endpoint)
    return events


def _connected(book: CallerBook, roster: Roster, o: OfferedCaller) -> list[Event]:
    leg = book.get(o.call.uniqueid)
    if leg is None:
        # Never CallArrived here: the core would queue a caller who is already talking and ring
        # someone else for them. Track the leg so its end is still reported.
        c = o.call
        book.add(CallerLeg(c.call_id, c.uniqueid, c.channel, c.queue, c.priority, pbx=c.pbx))
        leg = book.get(c.uniqueid)
        assert leg is not None
        # the agent whose leg the caller is bridged with: after an attended transfer, the consulted one
        # (the channel's own offer still names the first); with_records sorts out who the records name
        endpoint = talking_endpoint(roster, o)
        book.ring(leg, o.offer_id, endpoint)
        _connect(book, leg, o, endpoint)
        agent = roster.agent_for(endpoint)
        if agent is None or o.answered_at is None or not roster.has_queue(c.queue):
            log.warning(
                "resync: %s talks to %s; its end is reported, the core cannot take it over", c.channel, o.endpoint
            )
            return []
        return [CallInProgress(c, agent, o.answered_at)]
    if leg.phase is Phase.CONNECTED and leg.offer_id == o.offer_id:
        return []
    events: list[Event] = []
    # the ring we knew answered while the link was down: from the answer the channel kept
    answered_at = o.answered_at if leg.phase is Phase.RINGING and leg.offer_id == o.offer_id else None
    if leg.phase is Phase.RINGING and leg.offer_id != o.offer_id:
        events.append(OfferFailed(leg.offer_id, reason="lost"))
    endpoint = talking_endpoint(roster, o)
    book.ring(leg, o.offer_id, endpoint)
    _connect(book, leg, o, endpoint)
    events.append(OfferAnswered(o.offer_id, answered_at=answered_at))
    return events


def _connect(book: CallerBook, leg: CallerLeg, o: OfferedCaller, endpoint: str) -> None:
    """The caller talks with ``endpoint``'s leg: its channel (to pause the recording on) and its file.
    Handed over by an attended transfer (``endpoint`` is not the one the offer rang), the file is the
    consulted agent's, recording since they answered the consult; the first agent's file stays known
    for the stay they answered (``handed_from``), should it still be open in the records."""
    if endpoint == o.endpoint:
        book.connect(leg, o.agent_leg if o.talking_with == endpoint else "", o.recording)
        leg.paused_at = o.paused_at if leg.agent_leg else None
        return
    book.connect(leg, o.agent_leg, o.consult_recording, o.consult_recording_at)
    leg.paused_at = o.paused_at
    handed_at = o.handed_over_at if o.handed_over_at is not None else o.consult_recording_at
    if handed_at is not None and o.recording:
        leg.handed_from = (handed_at, o.recording)


def talking_endpoint(roster: Roster, o: OfferedCaller) -> str:
    """The endpoint the caller talks with: the bridged leg's when an agent of this ACD has it, else
    the one the offer rang."""
    if o.talking_with and roster.agent_for(o.talking_with) is not None:
        return o.talking_with
    return o.endpoint


def _presence(
    presence: Presence,
    roster: Roster,
    engaged: Callable[[str], bool],
    result: ResyncResult,
    pbx: str,
    *,
    contacts: bool,
) -> list[Event]:
    """The PBX's picture of the agents' phones. The PBX that tells contacts (``contacts``) replaces
    them and its device states and reports every agent; another PBX replaces its own device states
    alone and reports the changes (docs/pbxs.md: busy on any PBX is busy)."""
    devices = dict(result.devices)
    state = {a: engaged(roster.endpoint_of[a]) for a in roster.agent_ids}
    if not contacts:
        for agent in roster.agent_ids:
            presence.load_device(agent, devices.get(roster.endpoint_of[agent]), pbx)
        return list(presence.changes(roster.agent_ids, state))
    listed: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for c in result.contacts or ():
        listed[c.endpoint].append((c.uri, c.status))
    presence.forget(pbx)
    for agent in roster.agent_ids:
        endpoint = roster.endpoint_of[agent]
        known = None if result.contacts is None else listed.get(endpoint, [])
        presence.load(agent, known, devices.get(endpoint), pbx)
    reports: list[Event] = list(presence.report_all(roster.agent_ids, state))
    return reports
