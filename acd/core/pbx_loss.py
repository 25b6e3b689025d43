"""A lost PBX: its calls close at once, its agents are set free (docs/pbxs.md, "A PBX dies").

A dead PBX takes its channels with it, and no event about them will ever come: without this, its
callers would wait in their queues and its agents would stay on their calls until a resync that may
never run. ``PbxLost`` closes each open call of that PBX the way its own channel's end would have
(``call_handlers``), with end reason ``pbx_lost`` at the moment the link went down:

- a caller still waiting or ringing leaves ``failed`` (docs/kpis.md counts a failed call, never an
  abandon: the caller did not choose to leave); the offer ringing for them fails with no miss and no
  cool-down for the agent, who is ready again;
- a conversation ends at that moment (the call stays answered: it was counted so at its answer) and
  the agent goes to wrap-up as after any call; a consult leg of that call ends with it, and so does
  a consult that outlived its call there (the caller hung up, the two agents talked on).

A pending callback has no channel on any PBX: it keeps its place; one being dialled or talked to
has its channels on the PBX that dials it (``PbxLost.callbacks`` names them; without it, the first
PBX's loss closes them all), and closes with that one alone.
Each call so closed counts in ``acd_calls_lost_total{pbx}``.

A caller of the lost PBX who in fact still holds (only the link broke) is found by that PBX's next
resync: a new stay of the same call (``found_again``). The stay the loss closed keeps ``pbx_lost``
under an id of its own, as a moved call's earlier stay does, so the records hold each stay once.
"""

from __future__ import annotations

import dataclasses
import math
import uuid

from acd.core import call_handlers
from acd.core.commands import MetricUpdate
from acd.core.events import CallArrived, PbxLost
from acd.core.floor import Floor
from acd.core.ids import NAMESPACE
from acd.core.interaction import Call
from acd.core.metric_updates import CALLS_LOST
from acd.core.states import AgentInput, AgentState, CallInput, CallState

PBX_LOST = "pbx_lost"  # the end reason of a call closed by PbxLost, and of its failed offer


def lost_calls(floor: Floor, e: PbxLost) -> list[Call]:
    """The open calls a loss of ``e.pbx`` closes, in a fixed order: every one with a channel there. A
    callback's channel is not on its caller's first PBX (``call.pbx``) but on the PBX callbacks are
    dialled on: one being dialled or talked to closes with that PBX only."""
    return sorted((c for c in floor.calls.values() if _channelled(c, e)), key=lambda c: c.call_id)


def _channelled(call: Call, e: PbxLost) -> bool:
    if call.callback:
        dialled_there = e.dials_callbacks if e.callbacks is None else call.call_id in e.callbacks
        return dialled_there and call.state is CallState.CONNECTED
    return call.pbx == e.pbx


def pbx_lost(floor: Floor, e: PbxLost, now: float) -> None:
    """Close every open call of ``e.pbx`` at ``e.at`` (never later than now)."""
    at = min(e.at, now) if math.isfinite(e.at) else now
    for call in lost_calls(floor, e):
        _end_consult(floor, call, at, now)
        if call.state is CallState.CONNECTED:
            end = call_handlers.talk_end(call, at, now)
            call_handlers.end_talk(floor, call, CallInput.END, PBX_LOST, now, "PbxLost", end)
        else:
            _fail_offer(floor, call, at, now)
            floor.leave_queue(call, CallInput.END, "failed", PBX_LOST, now, left_at=at)
        floor.out.append(MetricUpdate(CALLS_LOST, "inc", 1.0, (("pbx", e.pbx),)))
    # a consult can outlive its call (the caller hung up, the two agents talked on): it ends too
    outlived = sorted(i for i in floor.consults if i in floor.closed and floor.closed[i].pbx == e.pbx)
    for call_id in outlived:
        _end_consult(floor, floor.closed[call_id], at, now)


def _fail_offer(floor: Floor, call: Call, at: float, now: float) -> None:
    """The offer ringing for ``call`` failed with the PBX: closed ``failed``, the agent ready again,
    no miss (nothing the agent did). No ``CancelOffer``: the leg was on the PBX that is gone."""
    if call.offer_id is None:
        return
    offer = floor.offers[call.offer_id]
    floor.end_offer(offer.offer_id, "failed", min(max(at, offer.offered_at), now))
    call.offer_id = None
    agent = floor.agents[offer.agent_id]
    if agent.state is AgentState.RESERVED:
        floor.move_agent(agent, AgentInput.CANCEL, now)


def _end_consult(floor: Floor, call: Call, at: float, now: float) -> None:
    """A consult open on ``call`` ends with it: kept as a segment; the consulted agent ready again."""
    consult = floor.consults.pop(call.call_id, None)
    if consult is None:
        return
    end = min(max(at, consult.started_at), now)
    if not consult.target:
        target = f"number:{consult.number}"
        floor.write(call.consult_segment(call.call_id, consult.agent_id, consult.started_at, end, target))
        return
    floor.write(call.consult_segment(call.call_id, consult.target, consult.started_at, end))
    agent = floor.agents[consult.target]
    if agent.state is AgentState.CONSULTING:
        floor.move_agent(agent, AgentInput.CONSULT_END, now)


def lost_stay_id(call_id: str, ended_at: float) -> str:
    """The record id of a stay a lost PBX closed, once its caller is found again (a new stay)."""
    return str(uuid.uuid5(NAMESPACE, f"interaction/{call_id}/pbx_lost/{ended_at!r}"))


def found_again(floor: Floor, e: CallArrived) -> CallArrived:
    """A caller a resync finds whose call the loss of their PBX closed unanswered: the closed stay is
    written again under ``lost_stay_id`` (it keeps ``pbx_lost``), and ``e`` becomes a new stay of the
    same call from the loss on (its earlier wait carried, as a moved call's). Any other arrival is
    returned as it is (a known or closed call is refused as ever)."""
    closed = floor.closed.get(e.call_id)
    if e.call_id in floor.calls or closed is None or closed.pbx != e.pbx or e.queue not in floor.queues:
        return e
    old = closed.record
    if old.end_reason != PBX_LOST or old.answered_at is not None or old.ended_at is None:
        return e  # an answered call's wrap-up still writes its record: refused as a late event
    floor.write(dataclasses.replace(old, interaction_id=lost_stay_id(e.call_id, old.ended_at), seq=old.seq + 1))
    del floor.closed[e.call_id]
    enqueued = old.ended_at if e.enqueued_at is None else max(e.enqueued_at, old.ended_at)
    return dataclasses.replace(
        e,
        enqueued_at=enqueued,
        arrived_at=closed.first_arrived_at,
        waited_before=closed.waited_before + (old.wait_seconds or 0.0),
        judged=True,  # judged at its first entry
    )
