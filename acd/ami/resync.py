"""Resync: after every (re)connect, read back from Asterisk who is waiting, ringing and talking.

Events missed while the link was down are gone; the channels are not. The dialplan keeps the
facts the ACD needs on each caller's channel (``ACD_QUEUE``, ``ACD_PRIORITY``, ``ACD_ENQUEUED``,
``ACD_OFFER``; see docs/dialplan.md), so a snapshot of the channels in the ACD's contexts
rebuilds the queue with every caller's original place (``enqueued_at``). A caller waits in
``acd-hold`` and ``acd-announce``, and in the slice of music that follows ``AcdEnqueue`` in
``acd-enqueue`` or a ``Dial`` that was not answered in ``acd-connect``, and in the callback menus
until they take one; any other step of
``acd-connect`` is an offer (ringing, or talking once bridged). Agent
phones are read from PJSIP contacts and device states. Calls that ended while nobody listened
left a trace in the PBX's AstDB (family ``acd_ended``, one entry per agent endpoint: the last
conversation that agent finished) and ``acd_left`` (unanswered callers who left, the last ones
only; see docs/dialplan.md), read with ``DBGetTree``. The result is plain data; the pump
(``acd.ami.pump``) hands it to ``Translator.reconcile`` (which diffs it against what it knew) and feeds the
returned events to the core. Run it on every ``LinkUp``, before draining the events queued
behind that marker.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from acd.ami import fields
from acd.ami.errors import AmiActionError
from acd.ami.identity import call_id_for
from acd.ami.offer_target import MARK, parse_offer_target
from acd.ami.wire import ActionValue, Message
from acd.core.bounds import MAX_AGE_SECONDS
from acd.core.events import CallArrived

log = logging.getLogger(__name__)

HOLD_CONTEXT = "acd-hold"
CONNECT_CONTEXT = "acd-connect"
WAITING_CONTEXTS = frozenset({HOLD_CONTEXT, "acd-announce"})
# the callback menus (docs/dialplan.md, "Callbacks"): a holding caller offered one, confirming a number or
# keying a time still waits in their queue, until they took it (ACD_CALLBACK) or unless they are a closed
# queue's caller (ACD_CB_CLOSED: no longer the ACD's)
CALLBACK_MENUS = frozenset({"acd-callback-offer", "acd-callback-confirm", "acd-callback-at"})
TOOK_CALLBACK = "ACD_CALLBACK"
CLOSED_CALLER = "ACD_CB_CLOSED"
KEYED_TIME = "ACD_CB_SCHEDULED"  # with ACD_CALLBACK: told their time is kept (its AcdCallbackAtKept may be lost)
# their slice of music is waiting too (acd-transfer's: a caller transferred to a queue, waiting there)
MUSIC_BETWEEN = frozenset({"acd-enqueue", CONNECT_CONTEXT, "acd-transfer"})
_CONCURRENCY = 16
OFFER = "ACD_OFFER"
ARRIVED = "ACD_ARRIVED"  # the caller's first arrival (acd-enqueue, never reset)
WAITED = "ACD_WAITED"  # seconds waited in earlier stays (a transfer's dialplan, the ACD's TagCall)
ANSWERED = "SHARED(ACD_ANSWERED)"  # written onto the caller's channel by the agent's leg at the answer
RECORDING = "SHARED(ACD_RECORDING)"  # the same, when recorded: the agent leg's Uniqueid, the file's name
DIRECTED = "ACD_DIRECTED"  # a caller transferred to an agent by name: that agent's endpoint (acd-transfer)
CONSULT_RECORDING = "SHARED(ACD_CONSULT_REC)"  # the last consulted agent's leg's file, when it records
CONSULT_RECORDING_AT = "SHARED(ACD_CONSULT_REC_AT)"  # when that file began (their answer of the consult)
HANDED_OVER = "SHARED(ACD_HANDED_OVER)"  # the same, by the dialplan, when an attended transfer completed
PAUSED_AT = "ACD_PAUSED_AT"  # on the agent's leg: when the ACD paused its recording (an epoch; empty: not)
PEER = "BRIDGEPEER"  # a talking caller's: the agent's leg, where its recording is paused
ENDED_FAMILY = "acd_ended"  # AstDB: the caller channel's h extension writes each conversation's end here
TRANSFER = "transfer"  # an EndTrace's last field when the talk ended by a transfer (acd-transfer)
ENDED_BY = frozenset({"agent", "caller", TRANSFER})
LEFT_FAMILY = "acd_left"  # AstDB: a caller's hangup handler writes how an unanswered caller left
HANGUP_EXTEN = "h"  # a channel running its hangup extension: what it did is done, its Hangup follows
DIALING_AGENT = "ACD_DIALING_AGENT"  # the endpoint acd-connect dialled last (read for a caller found in its h)


Where = Literal["waiting", "ringing", "connected", "over"]


class ActionPort(Protocol):
    """The part of ``AmiLink`` that resync and call control use; tests pass a fake."""

    async def send(
        self,
        action: Mapping[str, ActionValue],
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Message: ...

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]: ...

    async def send_list(
        self,
        action: Mapping[str, ActionValue],
        complete_event: str,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[Message]: ...


@dataclass(frozen=True, slots=True)
class OfferedCaller:
    """A caller in ``acd-connect``: ringing ``endpoint`` (no bridge yet) or talking to it.

    ``answered_at``: when the agent answered (``SHARED(ACD_ANSWERED)``, set by the dialplan at the
    answer), for a caller found talking; None if the channel does not say. ``recording``: the agent
    leg's Uniqueid that names the recording (``SHARED(ACD_RECORDING)``), empty if none. ``agent_leg``:
    the channel the caller is bridged with (``BRIDGEPEER``) when it is a PJSIP leg
    (``PJSIP/<endpoint>-<n>``), empty otherwise; ``talking_with``: that leg's endpoint. It is another
    endpoint than ``endpoint`` (the one the offer rang) after an attended transfer: the caller talks
    with the consulted agent, since ``handed_over_at`` (``SHARED(ACD_HANDED_OVER)``) when the channel says.
    """

    call: CallArrived
    offer_id: str
    endpoint: str
    answered_at: float | None = None
    recording: str = ""
    agent_leg: str = ""
    talking_with: str = ""
    handed_over_at: float | None = None
    consult_recording: str = ""  # the last consulted agent's file (``SHARED(ACD_CONSULT_REC)``): after a
    consult_recording_at: float | None = None  # handover, the caller's recording now, since then
    paused_at: float | None = None  # the agent leg's recording paused since then (its ``ACD_PAUSED_AT``)


@dataclass(frozen=True, slots=True)
class EndTrace:
    """The last conversation an agent endpoint finished, as the PBX wrote it when the caller's channel ended.

    ``ended_by``: ``caller`` whenever the caller's channel was inside Dial (also when Asterisk hung it up
    after the agent left); not who hung up, and not used. ``transfer``: the agent transferred the
    caller (acd-transfer wrote it); ``ended_at`` is the moment of the transfer.
    """

    endpoint: str
    uniqueid: str
    answered_at: float
    ended_at: float
    ended_by: str

    @classmethod
    def parse(cls, endpoint: str, value: str) -> EndTrace | None:
        """``<caller uniqueid>,<answered epoch>,<ended epoch>,<agent|caller|transfer>``; None if it is not that."""
        parts = value.split(",")
        if len(parts) != 4 or not endpoint or not parts[0]:
            return None
        uniqueid, answered, ended, by = parts
        try:
            answered_at, ended_at = float(answered), float(ended)
        except ValueError:
            return None
        if not (math.isfinite(answered_at) and math.isfinite(ended_at)) or ended_at < answered_at or by not in ENDED_BY:
            return None
        return cls(endpoint, uniqueid, answered_at, ended_at, by)


@dataclass(frozen=True, slots=True)
class LeftTrace:
    """How and when an unanswered caller left, as their channel's hangup handler wrote it.

    ``outcome``: ``overflowed`` (the caller was in ``acd-overflow``: holding's fallback), else ``abandoned``.
    """

    uniqueid: str
    left_at: float
    outcome: Literal["abandoned", "overflowed"]

    @classmethod
    def parse(cls, value: str) -> LeftTrace | None:
        """``<caller uniqueid>,<left epoch>,<abandoned|overflowed>``; None if it is not that."""
        parts = value.split(",")
        if len(parts) != 3 or not parts[0]:
            return None
        uniqueid, left, how = parts
        try:
            left_at = float(left)
        except ValueError:
            return None
        if not math.isfinite(left_at):
            return None
        if how == "abandoned":
            return cls(uniqueid, left_at, "abandoned")
        if how == "overflowed":
            return cls(uniqueid, left_at, "overflowed")
        return None


@dataclass(frozen=True, slots=True)
class ToldKept:
    """A holding caller found in the callback menus after they were told their time is kept
    (``ACD_CALLBACK`` and ``ACD_CB_SCHEDULED``): their ``AcdCallbackAtKept`` may have been lost while the
    link was down, so reconcile ends their stay as it would have (docs/dialplan.md, "Callbacks at a time")."""

    uniqueid: str
    reason: str


@dataclass(frozen=True, slots=True)
class ContactSnapshot:
    endpoint: str
    uri: str
    status: str


@dataclass(frozen=True, slots=True)
class ResyncResult:
    waiting: tuple[CallArrived, ...] = ()
    ringing: tuple[OfferedCaller, ...] = ()
    connected: tuple[OfferedCaller, ...] = ()
    contacts: tuple[ContactSnapshot, ...] | None = ()  # None: not allowed to list them
    devices: tuple[tuple[str, str], ...] = ()  # (PJSIP endpoint, device state)
    skipped: tuple[str, ...] = ()  # why a channel in an ACD context was left out
    ended: tuple[EndTrace, ...] = ()  # each agent endpoint's last finished conversation (AstDB)
    left: tuple[LeftTrace, ...] = ()  # the last unanswered callers who left (AstDB)
    # callers in acd-connect whose talk is over (answered, out of their Dial, in no bridge): in their h
    # extension or on the steps after a Dial that returned ANSWER; their Hangup follows (docs/dialplan.md)
    over: tuple[OfferedCaller, ...] = ()
    told_kept: tuple[str, ...] = ()  # uniqueids of holding callers told their callback at a time is kept

    def ended_call(self, uniqueid: str, endpoint: str | None = None, *, talk_only: bool = False) -> EndTrace | None:
        """The trace of the conversation of this caller channel, if the PBX left one: the one ``endpoint``
        wrote when given (each agent endpoint keeps its own: a caller transferred by one agent and talked
        to by another has two), and not a ``transfer`` trace when ``talk_only`` (an earlier stay's)."""
        return next(
            (
                t
                for t in self.ended
                if t.uniqueid == uniqueid
                and (endpoint is None or t.endpoint == endpoint)
                and not (talk_only and t.ended_by == TRANSFER)
            ),
            None,
        )

    def connected_call(self, uniqueid: str) -> OfferedCaller | None:
        """This caller channel as found talking, if it was."""
        return next((o for o in self.connected if o.call.uniqueid == uniqueid), None)

    def over_call(self, uniqueid: str) -> OfferedCaller | None:
        """This caller channel as found with its talk over, if it was."""
        return next((o for o in self.over if o.call.uniqueid == uniqueid), None)

    def left_call(self, uniqueid: str) -> LeftTrace | None:
        """How this caller channel left unanswered, if the PBX kept it."""
        return next((t for t in self.left if t.uniqueid == uniqueid), None)

    def present(self) -> frozenset[str]:
        """Uniqueids of every caller channel found in the ACD's contexts, but those whose talk is ``over``:
        gone for what they will do, though their channel is still there for a moment."""
        offered = self.ringing + self.connected
        return frozenset({c.uniqueid for c in self.waiting} | {o.call.uniqueid for o in offered})


async def resync(link: ActionPort, *, timeout: float = 10.0) -> ResyncResult:  # noqa: ASYNC109
    """Snapshot channels, variables, contacts and device states. Raises ``AmiError`` if the link fails."""
    channels = await link.send_list({"Action": "CoreShowChannels"}, "CoreShowChannelsComplete", timeout)
    ours = [c for c in channels if _role(c) is not None]
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def read(channel: Message) -> tuple[Where, CallArrived | OfferedCaller | ToldKept | str]:
        async with gate:
            return await _read_caller(link, channel, timeout)

    callers = await asyncio.gather(*(read(c) for c in ours))
    contacts = await _optional_list(link, "PJSIPShowContacts", "ContactListComplete", timeout)
    devices = await _optional_list(link, "DeviceStateList", "DeviceStateListComplete", timeout) or []
    traces = await _optional_list(link, "DBGetTree", "DBGetTreeComplete", timeout, Family=ENDED_FAMILY) or []
    leavers = await _optional_list(link, "DBGetTree", "DBGetTreeComplete", timeout, Family=LEFT_FAMILY) or []

    waiting: list[CallArrived] = []
    ringing: list[OfferedCaller] = []
    connected: list[OfferedCaller] = []
    over: list[OfferedCaller] = []
    skipped: list[str] = []
    told_kept: list[str] = []
    offered = {"ringing": ringing, "connected": connected, "over": over}
    for where, found in callers:
        if isinstance(found, str):
            skipped.append(found)
        elif isinstance(found, ToldKept):
            skipped.append(found.reason)
            told_kept.append(found.uniqueid)
        elif isinstance(found, CallArrived):
            waiting.append(found)
        else:
            offered[where].append(found)
    return ResyncResult(
        waiting=tuple(sorted(waiting, key=lambda c: (c.enqueued_at or 0.0, c.uniqueid))),
        ringing=tuple(ringing),
        connected=tuple(connected),
        contacts=None
        if contacts is None
        else tuple(ContactSnapshot(c.get("Endpoint", ""), c.get("Uri", ""), c.get("Status", "")) for c in contacts),
        devices=tuple(
            (d["Device"].partition("/")[2], d.get("State", ""))
            for d in devices
            if d.get("Device", "").upper().startswith("PJSIP/")
        ),
        skipped=tuple(skipped),
        ended=_end_traces(traces),
        left=_left_traces(leavers),
        told_kept=tuple(told_kept),
        over=tuple(over),
    )


def _left_traces(rows: list[Message]) -> tuple[LeftTrace, ...]:
    found = []
    for row in rows:
        trace = LeftTrace.parse(row.get("Val", ""))
        if trace is None:
            log.warning(
                "resync: AstDB %s/%s is not a caller's leaving; ignored",
                LEFT_FAMILY,
                row.get("Key", "").rpartition("/")[2][:16],
            )
        else:
            found.append(trace)
    return tuple(found)


def _end_traces(rows: list[Message]) -> tuple[EndTrace, ...]:
    found = []
    for row in rows:
        endpoint = row.get("Key", "").rstrip("/").rpartition("/")[2]  # "/acd_ended/<endpoint>" or "<endpoint>"
        trace = EndTrace.parse(endpoint, row.get("Val", ""))
        if trace is None:
            log.warning("resync: AstDB %s/%s is not a call's end; ignored", ENDED_FAMILY, endpoint[:64])
        else:
            found.append(trace)
    return tuple(found)


def _role(row: Message) -> str | None:
    """ "waiting", "offer" (ringing or talking) or None (not a caller of the ACD's, or not yet one)."""
    context = row.get("Context")
    if context in WAITING_CONTEXTS or context in CALLBACK_MENUS:
        return "waiting"
    if context in MUSIC_BETWEEN and row.get("Application") == "MusicOnHold":
        return "waiting"
    if context == CONNECT_CONTEXT:
        return "offer"
    return None


def _wait_so_far(arrived: str, waited: str) -> tuple[float | None, float]:
    """The caller's first arrival and wait in earlier stays (``ACD_ARRIVED``, ``ACD_WAITED``): an
    older dialplan's empty values, or values that cannot be true, count as a first stay."""
    try:
        first = float(arrived) if arrived else None
        before = float(waited) if waited else 0.0
    except ValueError:
        return None, 0.0
    if first is not None and not math.isfinite(first):
        first = None
    return first, before if math.isfinite(before) and 0.0 <= before <= MAX_AGE_SECONDS else 0.0


async def _read_caller(
    link: ActionPort,
    row: Message,
    timeout: float,  # noqa: ASYNC109
) -> tuple[Where, CallArrived | OfferedCaller | ToldKept | str]:
    """(where, caller) or ("waiting", reason it was skipped)."""
    channel = row.get("Channel", "")
    in_connect = _role(row) == "offer"
    bridged = bool(row.get("BridgeId"))
    in_h = in_connect and row.get("Exten") == HANGUP_EXTEN
    names = ["ACD_QUEUE", "ACD_PRIORITY", "ACD_ENQUEUED", ARRIVED, WAITED, DIRECTED]
    names += [OFFER, ANSWERED, RECORDING, HANDED_OVER, CONSULT_RECORDING, CONSULT_RECORDING_AT] if in_connect else []
    names += [PEER] if in_connect and bridged else []
    names += [DIALING_AGENT] if in_h else []
    in_menu = row.get("Context") in CALLBACK_MENUS
    names += [TOOK_CALLBACK, CLOSED_CALLER, KEYED_TIME] if in_menu else []
    try:
        replies = await asyncio.gather(
            *(link.send({"Action": "Getvar", "Channel": channel, "Variable": n}, timeout) for n in names)
        )
    except AmiActionError as exc:  # hung up while we looked: its Hangup event follows
        return "waiting", f"{channel}: {exc.message}"
    values = dict(zip(names, (r.get("Value", "") for r in replies), strict=True))
    if not values["ACD_QUEUE"]:
        return "waiting", f"{channel}: no ACD_QUEUE"
    if in_menu and values[TOOK_CALLBACK] and values[KEYED_TIME] and not values[CLOSED_CALLER]:
        return "waiting", ToldKept(row.get("Uniqueid", ""), f"{channel}: told a callback at a time is kept")
    if in_menu and values[TOOK_CALLBACK]:
        return "waiting", f"{channel}: took a callback"
    if in_menu and values[CLOSED_CALLER]:
        return "waiting", f"{channel}: a closed queue's caller"
    try:
        priority = int(values["ACD_PRIORITY"] or 0)
        enqueued_at = float(values["ACD_ENQUEUED"]) if values["ACD_ENQUEUED"] else None
    except ValueError:
        return "waiting", f"{channel}: bad ACD_PRIORITY/ACD_ENQUEUED"
    arrived_at, waited_before = _wait_so_far(values[ARRIVED], values[WAITED])
    if arrived_at is not None and (
        enqueued_at is None or not enqueued_at - MAX_AGE_SECONDS < arrived_at <= enqueued_at
    ):
        arrived_at = None  # not a time the core can take: the stay counts as the first
    uniqueid = row.get("Uniqueid", "")
    call = CallArrived(
        call_id=call_id_for(uniqueid),
        queue=values["ACD_QUEUE"],
        priority=priority,
        caller=row.get("CallerIDNum", ""),
        enqueued_at=enqueued_at,
        channel=channel,
        uniqueid=uniqueid,
        linkedid=row.get("Linkedid", ""),
        arrived_at=arrived_at,
        waited_before=waited_before,
        # the endpoint as the channel has it: ``acd.ami.reconcile`` names the agent, or drops it
        directed_to=values[DIRECTED] if fields.ENDPOINT.fullmatch(values[DIRECTED]) else "",
    )
    if not in_connect:
        return "waiting", call
    endpoint, offer_id = row.get("Exten", ""), values[OFFER]
    if in_h:  # its offer's agent, as acd-connect dialled it (and keyed its acd_ended trace by)
        endpoint = values[DIALING_AGENT] if fields.ENDPOINT.fullmatch(values[DIALING_AGENT]) else ""
    if endpoint.startswith(MARK):  # its offer's Redirect just landed (acd.ami.offer_target): the target says
        target = parse_offer_target(endpoint)  # which offer, ACD_OFFER may still be the last one's
        if target is None:  # refused by the dialplan: on its way back to holding
            return "waiting", f"{channel}: in {CONNECT_CONTEXT} at a malformed offer target"
        endpoint, offer_id = target.endpoint, target.offer_id
    if not offer_id:
        return "waiting", f"{channel}: in {CONNECT_CONTEXT} without ACD_OFFER"
    answered_at, handed_over_at = _epoch(values[ANSWERED]), _epoch(values[HANDED_OVER])
    # answered, and out of its Dial (in its h extension, or on the steps after a Dial that returned ANSWER)
    # with no bridge: the talk is over, the AcdDialResult that says so may have been raised while no ACD
    # listened (a caller a transfer took on has no ACD_ANSWERED: acd-transfer empties it)
    over = not bridged and answered_at is not None and (in_h or row.get("Application") != "Dial")
    peer = values.get(PEER, "")
    talking_with = leg_endpoint(peer)
    agent_leg = peer if talking_with else ""
    paused_at = None
    if agent_leg:
        try:
            reply = await link.send({"Action": "Getvar", "Channel": agent_leg, "Variable": PAUSED_AT}, timeout)
        except AmiActionError:  # the agent's leg hung up while we looked
            reply = Message()
        paused_at = _epoch(reply.get("Value", ""))
    offered = OfferedCaller(
        call,
        offer_id,
        endpoint,
        answered_at,
        values[RECORDING],
        agent_leg,
        talking_with,
        handed_over_at,
        values[CONSULT_RECORDING],
        _epoch(values[CONSULT_RECORDING_AT]),
        paused_at,
    )
    return "over" if over else "connected" if bridged else "ringing", offered


def _epoch(value: str) -> float | None:
    """A time the dialplan wrote (``%s.%6q``); None if empty or not a finite number."""
    try:
        at = float(value) if value else None
    except ValueError:
        return None
    return at if at is not None and math.isfinite(at) else None


def leg_endpoint(channel: str) -> str:
    """The endpoint of ``PJSIP/<endpoint>-<hex>`` (a leg, as Asterisk names it); empty if not one."""
    name = channel.removeprefix("PJSIP/").rpartition("-")[0]
    if not channel.startswith("PJSIP/") or not fields.ENDPOINT.fullmatch(name) or not is_leg_of(channel, name):
        return ""
    return name


def is_leg_of(channel: str, endpoint: str) -> bool:
    """``PJSIP/<endpoint>-<hex>``: a channel of that endpoint, as Asterisk names it."""
    prefix = f"PJSIP/{endpoint}-"
    rest = channel[len(prefix) :]
    return channel.startswith(prefix) and 0 < len(rest) <= 16 and all(c in "0123456789abcdef" for c in rest)


async def _optional_list(
    link: ActionPort,
    action: str,
    complete: str,
    timeout: float,  # noqa: ASYNC109
    **headers: str,
) -> list[Message] | None:
    """An empty list may come back as ``Response: Error`` ("No Contacts found", "Database entry
    not found"): empty.

    A refusal ("Permission denied": the AMI user was not given ``write=system``, see
    dialplan/pbx/manager.conf.in) means "unknown", ``None``, never "nobody is registered".
    """
    try:
        return await link.send_list({"Action": action, **headers}, complete, timeout)
    except AmiActionError as exc:
        message = exc.message.lower()
        if (message.startswith("no ") or message.startswith("database entry")) and message.endswith("found"):
            return []
        if "permission denied" in message:
            # The shipped AMI user has no write=system (docs/security.md): expected, not a fault.
            log.info(
                "resync: %s is not allowed for this AMI user; agents' reachability comes from device states", action
            )
        else:
            log.warning("resync: %s refused (%s); carrying on without it", action, exc.message)
        return None
