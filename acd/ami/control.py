"""Call control: the few AMI actions by which the ACD moves callers, per docs/dialplan.md.

``AmiCallControl.send`` is the runtime's call-control port (``acd.ports.CallControl``) over AMI: it
finds the caller's channel in the ``CallerBook`` the translator keeps (a call's channel is known
from its enqueue until its Hangup) and maps each core command onto one step of the dialplan contract
(``RingAgent`` → ``ring``, ``CancelOffer`` → ``cancel``, ``OverflowCall`` → ``overflow``,
``TagCall`` → ``tag``, ``TransferCall`` → ``transfer``). A cancel followed in the same decision by a
ring or an overflow of the same caller is left out: that Redirect ends the Dial all the same, and
Asterisk would refuse a second Redirect while the first is still being carried out. Failures are
raised as ``NotCarriedOut``, whose text the core is told: most often "No such channel" because the
caller hung up a moment ago, and the ``Hangup`` event is already on its way. A caller whose channel
Asterisk says is gone (a phantom enqueue, a caller gone unseen) gets no more rings, and leaves its
queue (``on_channel_gone``) unless its Hangup comes within ``CHANNEL_GONE_GRACE``.

A Redirect Asterisk accepted can still be lost (``acd.ami.confirm``). A lost offer is handed back
(``on_ring_lost``) for the core to route the caller again under a new offer: sending the old one
again could move a caller the core has since re-routed. A lost overflow is sent again: the core has
closed that call, so nothing else will ever move the caller.

The endpoint of a ring and the target of an overflow become the Redirect's ``Exten``: a name that is
not a plain PJSIP endpoint or extension (``acd.dialling``) raises ``NotDialable`` before anything is
written, whatever let it into the config.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from acd.ami.callback_ring import callback_action
from acd.ami.callers import CallerBook
from acd.ami.confirm import Confirmations, user_event
from acd.ami.errors import AmiActionError
from acd.ami.identity import closed_callback_id
from acd.ami.offer_target import offer_target
from acd.ami.originate import CONTEXT as MONITOR_CONTEXT
from acd.ami.originate import MODES, Originator, endpoint_channel
from acd.ami.resync import DIRECTED, PAUSED_AT, ActionPort
from acd.ami.token import VARIABLE as TOKEN_VARIABLE
from acd.ami.token import EventToken
from acd.ami.wire import Message
from acd.callback_names import CallbackNames
from acd.core import transfer_numbers
from acd.core.commands import (
    CancelOffer,
    ConsultCall,
    ControlCommand,
    FinishConsult,
    MonitorCall,
    OfferCallback,
    OverflowCall,
    PublishNext,
    RefuseCallbackTime,
    RingAgent,
    TagCall,
    TransferCall,
    WithdrawNext,
)
from acd.core.hours import CALLBACK_TARGET
from acd.core.wait_said import is_said
from acd.dialling import NotDialable, bare_endpoint, dialable_endpoint, overflow_extension
from acd.dialling import announcement as check_announcement
from acd.ports import ACCEPTED, NotCarriedOut

log = logging.getLogger(__name__)

HOLD = ("acd-hold", "s")
REDIRECT_RETRIES = 10
REDIRECT_RETRY_DELAY = 0.02  # seconds
CONNECT_CONTEXT = "acd-connect"
OVERFLOW_CONTEXT = "acd-overflow"
TRANSFER_CONTEXT = "acd-transfer"
CONSULT_EXTEN = "00"  # acd-transfer's consult of the agent named by CONSULT_TARGET on the agent's leg
CONSULT_NUMBER_EXTEN = "01"  # acd-transfer's consult of the outside number CONSULT_TARGET names
CONSULT_TARGET = "__ACD_CONSULT_TARGET"
CONSULT_PICKED_VARIABLE = "ACD_CONSULT_PICKED"  # a phone's consult leg for a queue: the agent the ACD picked
TRANSFER_NUMBERS_VARIABLE = "ACD_TRANSFER_NUMBERS"
CALLBACK_NUMBERS_VARIABLE = "ACD_CALLBACK_NUMBERS"  # the numbers a callback's caller may key in (regex)
QUEUE_TRANSFER_PREFIX = "queue-"
AGENT_TRANSFER_PREFIX = "agent-"  # acd-transfer's agent-<endpoint>: blind, to the caller's queue, that agent first
CALLBACK_AFTER_VARIABLE = "ACD_CALLBACK_AFTER"  # seconds of holding before the callback offer
CALLBACK_KEPT_VARIABLE = "ACD_CB_KEPT"  # a closed queue's callback is in PostgreSQL: the caller may be told
CALLBACK_NAME_VARIABLE = "ACD_CB_NAME"  # the callback's id: its recorded name's file (acd.callback_names)
CALLBACK_AT_VARIABLE = "ACD_CB_AT"  # a scheduled callback's time (epoch), said to the caller
CALLBACK_ZONE_VARIABLE = "ACD_CB_ZONE"  # the queue's IANA zone, in which that time is said
ZONE = re.compile(r"[A-Za-z][-+_/0-9A-Za-z]{0,63}")  # an IANA zone name, as acd.zones loads one
NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # a callback's id
CHANNEL_GONE_GRACE = 1.0
"""Seconds between Asterisk saying a caller's channel is gone and ``on_channel_gone``: a caller who
really hung up has their ``Hangup`` event (published after the reply that said so) close the call as
abandoned first."""


class AmiCallControl:
    """Issue call-control actions on one link, in order, each within ``timeout`` seconds.

    ``book``: the caller legs the translator keeps, where a call's channel is found.
    ``on_ring_lost(offer_id)``: a ring's Redirect was accepted but never landed.
    ``on_channel_gone(call_id)``: the caller's channel is gone and no Hangup came within the grace.
    """

    def __init__(
        self,
        link: ActionPort,
        *,
        book: CallerBook | None = None,
        timeout: float = 5.0,
        confirm_within: float = 2.0,
        overflow_attempts: int = 5,
        on_ring_lost: Callable[[str], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
        on_channel_gone: Callable[[str], None] | None = None,
        transfer_numbers: tuple[str, ...] = (),
        callback_numbers: tuple[str, ...] = (),
        originator: Originator | None = None,
        callback_names: CallbackNames | None = None,
    ) -> None:
        self._link = link
        self.callback_names = callback_names  # the names callers recorded (None: the whisper names none)
        self.originator = originator  # rings supervisors' phones (MonitorCall); None: monitoring is off
        self._callbacks = 0  # callbacks' Originates sent (their ActionIDs)
        self.book = book if book is not None else CallerBook()
        self.on_channel_gone = on_channel_gone
        self._gone: dict[str, None] = {}  # calls whose channel Asterisk says is gone: no more rings
        self._timeout = timeout
        self.confirmations = Confirmations(confirm_within)
        self._overflow_attempts = overflow_attempts
        self.on_ring_lost = on_ring_lost
        self._marking = False  # claims on (a publication sent): offers go through acd-connect-mark
        self.on_lost = on_lost  # called with "ring" or "overflow" for each lost Redirect (metrics)
        self.lost_redirects = 0  # Redirects Asterisk accepted that never landed
        self._tasks: set[asyncio.Task[None]] = set()
        # the outside numbers a caller may be transferred to, as the dialplan checks them (global
        # ACD_TRANSFER_NUMBERS, written with the token: docs/dialplan.md, "Transfers")
        self.transfer_numbers = transfer_numbers
        # the numbers a callback's caller may key in instead of their own (global ACD_CALLBACK_NUMBERS,
        # written likewise: docs/dialplan.md, "Callbacks")
        self.callback_numbers = callback_numbers
        # Fencing (docs/standby.md): ``may_act`` says whether this process leads now, by its own clock
        # (None: no lease, as in the tests); ``epoch`` is its term, written with every offer
        # (ACD_OFFER_EPOCH) and as the global ACD_EPOCH that acd-connect compares it with.
        self.may_act: Callable[[], bool] | None = None
        self.epoch: int | None = None
        # whether the lease is confirmed now (None: always): a leader routing on alone through a PostgreSQL
        # outage does not write ACD_EPOCH, as a newer term's may be there by then (docs/standby.md, "Members")
        self.may_fence: Callable[[], bool] | None = None

    def _check_fence(self) -> None:
        """Refuse to act on the PBX once this process no longer leads: its lease may be another's now."""
        if self.may_act is not None and not self.may_act():
            raise NotCarriedOut("fenced: this process no longer leads")

    def channel_of(self, call_id: str) -> str | None:
        """The caller channel of a call, while it has one (the announcer sets variables on it too)."""
        return self.book.channel_of(call_id)

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]:
        """Carry out one core command on its caller's channel (``acd.ports.CallControl``)."""
        self._check_fence()
        if isinstance(command, CancelOffer) and any(
            isinstance(later, RingAgent | OverflowCall) and later.call_id == command.call_id for later in rest
        ):
            return ACCEPTED  # the later Redirect ends the Dial
        if isinstance(command, RingAgent) and command.callback:
            try:  # a callback has no caller channel: the agent is rung first (acd.ami.callback_ring)
                return self._outcome(command, self._start(self.ring_callback(command)))
            except Exception as exc:
                raise self._failed(command, exc) from exc
        if isinstance(command, RingAgent) and command.call_id in self._gone:
            raise NotCarriedOut("no such channel")  # Asterisk said so a moment ago
        channel = self.book.channel_of(command.call_id)
        if channel is None:
            if isinstance(command, CancelOffer):  # the caller hung up: their Dial has ended with them
                return ACCEPTED
            if isinstance(command, OfferCallback | RefuseCallbackTime):  # hung up since: nothing to tell
                return ACCEPTED
            if not self.book.ended(command.call_id):  # not the race with a Hangup: a channel never known
                log.error("no channel known for call %s; cannot %s", command.call_id, type(command).__name__)
            raise NotCarriedOut("no channel")
        try:
            if isinstance(command, RingAgent):
                replies = self.ring(
                    channel, command.offer_id, command.endpoint, command.ring_timeout_seconds, command.record
                )
            elif isinstance(command, CancelOffer):
                replies = self.cancel(channel)
            elif isinstance(command, TagCall):
                replies = self.tag(
                    channel,
                    command.queue,
                    command.priority,
                    command.enqueued_at,
                    command.waited_before,
                    new_stay=command.new_stay,
                )
            elif isinstance(command, TransferCall):
                replies = self.transfer(
                    channel, command.endpoint, command.queue, command.number, command.target_endpoint
                )
            elif isinstance(command, RefuseCallbackTime):  # the dialplan says so and asks again
                replies = self._write(None, _setvar(channel, CALLBACK_KEPT_VARIABLE, "0"))
            elif isinstance(command, OfferCallback):
                seconds = command.after_seconds
                after = "" if seconds is None else str(max(0, math.ceil(seconds)))
                # the callback's id, for the file of the name the caller records on taking it
                replies = self._write(
                    None,
                    _setvar(channel, CALLBACK_NAME_VARIABLE, command.call_id),
                    _setvar(channel, CALLBACK_AFTER_VARIABLE, after),
                )
            elif isinstance(command, MonitorCall):
                replies = self._start(self.monitor(channel, command))
            elif isinstance(command, ConsultCall) and command.phone_leg:
                replies = self.consult_picked(command.phone_leg, command.target_endpoint)
            elif isinstance(command, ConsultCall):
                replies = self.consult(channel, command.endpoint, command.target_endpoint, command.number)
            elif isinstance(command, FinishConsult):
                replies = self.finish_consult(channel, command.endpoint, command.action)
            else:
                name = closed_callback_id(command.call_id) if command.target == CALLBACK_TARGET else ""
                replies = self.overflow(channel, command.target, announcement=command.announcement, name=name)
        except Exception as exc:  # not even written (the link is down, a name not dialable)
            raise self._failed(command, exc) from exc
        return self._outcome(command, replies)

    async def _outcome(self, command: ControlCommand, replies: Awaitable[None]) -> None:
        try:
            await replies
        except Exception as exc:
            raise self._failed(command, exc) from exc

    def _failed(self, command: ControlCommand, exc: Exception) -> NotCarriedOut:
        if channel_gone(exc) and isinstance(command, RingAgent | TagCall) and command.call_id not in self._gone:
            # A phantom (an enqueue for a channel that never was) or a caller gone unseen: the call
            # leaves its queue with that reason instead of waiting for ever.
            self._gone[command.call_id] = None
            asyncio.get_running_loop().call_later(CHANNEL_GONE_GRACE, self._channel_gone, command.call_id)
        return NotCarriedOut(f"ami: {exc}")

    def _channel_gone(self, call_id: str) -> None:
        if self.book.channel_of(call_id) is not None and self.on_channel_gone is not None:
            self.on_channel_gone(call_id)  # no Hangup came meanwhile
        for gone in [c for c in self._gone if self.book.channel_of(c) is None]:
            del self._gone[gone]  # the book no longer holds them: their legs ended

    def observe(self, msg: Message) -> None:
        """Every AMI message from the link, in order: settles the Redirects it confirms."""
        self.confirmations.observe(msg)

    def link_down(self) -> None:
        self.confirmations.forget()

    def stop(self) -> None:
        """A planned handover (docs/standby.md): forget every confirmation awaited (so no lost Redirect is
        sent again) and cancel the overflows being sent again."""
        self.confirmations.forget()
        for task in list(self._tasks):
            task.cancel()

    def ring(
        self, channel: str, offer_id: str, endpoint: str, ring_timeout: float, record: bool = False
    ) -> Awaitable[None]:
        """Offer the caller on ``channel`` to ``endpoint``: one Redirect whose extension carries the offer.

        Written at once (before this returns); the result is the wait for Asterisk's reply, which
        raises the error. The target (``acd.ami.offer_target``) names the agent, the offer id, the ring
        timeout (Dial takes whole seconds; round up), this leader's epoch and whether the call is
        recorded; acd-connect sets ACD_OFFER, ACD_RING_TIMEOUT, ACD_RECORD and ACD_OFFER_EPOCH from it.
        An offer the target cannot carry (a long endpoint name) goes the old way: those variables by
        Setvar, then the Redirect to the endpoint, pipelined (written back to back on the one link;
        Asterisk runs one manager session's actions in the order it reads them). ``ACD_RECORD`` is
        ``1`` when the queue records its calls, empty otherwise (always written: a caller moved from a
        recording queue must not keep it).
        """
        exten = dialable_endpoint(endpoint)
        key = self.confirmations.expect(
            channel, user_event("AcdRinging", AcdOffer=offer_id), lambda: self._ring_lost(channel, offer_id)
        )
        seconds = max(1, math.ceil(ring_timeout))
        target = offer_target(exten, offer_id, seconds, self.epoch, record)
        if target is not None:  # the whole offer in the Redirect's extension: one action
            # claims on: through acd-connect-mark, which takes the agent's mark first (docs/dialplan.md)
            context = MARK_CONTEXT if self._marking else CONNECT_CONTEXT
            return self._write(key, _redirect(channel, context, target))
        # with a lease, the offer carries its epoch: acd-connect refuses it unless it is ACD_EPOCH's
        fence = () if self.epoch is None else (_setvar(channel, OFFER_EPOCH_VARIABLE, str(self.epoch)),)
        return self._write(
            key,
            _setvar(channel, "ACD_OFFER", offer_id),
            _setvar(channel, "ACD_RING_TIMEOUT", str(seconds)),
            _setvar(channel, "ACD_RECORD", "1" if record else ""),
            *fence,
            _redirect(channel, CONNECT_CONTEXT, exten),
        )

    def _write(self, key: int | None, *actions: dict[str, str]) -> Awaitable[None]:
        """Write ``actions`` now, in order; the wait for their replies stops watching ``key`` on error."""
        replies: list[Awaitable[Message]] = []
        try:
            self._check_fence()
            for action in actions:
                replies.append(self._link.submit(action, self._timeout))
        except Exception as exc:
            if not replies:  # nothing went out: say so at once
                if key is not None:
                    self.confirmations.drop(key)
                raise
            return self._settle(key, actions, replies, exc)
        return self._settle(key, actions, replies, None)

    async def _settle(
        self,
        key: int | None,
        actions: tuple[dict[str, str], ...],
        replies: list[Awaitable[Message]],
        error: Exception | None,
    ) -> None:
        results = await asyncio.gather(*replies, return_exceptions=True)
        failure: BaseException | None = error
        for action, result in zip(actions, results, strict=False):
            if failure is not None:
                break
            if isinstance(result, BaseException):
                failure = result
                if _busy(action, result):
                    failure = await self._redirect_when_free(action, result)
        if failure is not None:
            if key is not None:
                self.confirmations.drop(key)
            raise failure

    async def _redirect_when_free(self, action: dict[str, str], error: BaseException) -> BaseException | None:
        """Send a Redirect again while Asterisk still works on the channel's previous one.

        Asterisk refuses a Redirect ("channel not up") while the channel carries the soft-hangup
        mark of a Redirect it has accepted but not yet carried out; the mark goes within
        milliseconds. A channel that is really hanging up keeps refusing, and the error stands.
        """
        for _ in range(REDIRECT_RETRIES):
            await asyncio.sleep(REDIRECT_RETRY_DELAY)
            try:
                self._check_fence()
                await self._link.send(action, self._timeout)
                return None
            except Exception as exc:
                if not _busy(action, exc):
                    return exc
                error = exc
        return error

    def _lost(self, action: str) -> None:
        self.lost_redirects += 1
        if self.on_lost is not None:
            self.on_lost(action)

    def _ring_lost(self, channel: str, offer_id: str) -> None:
        self._lost("ring")
        log.warning("offer %s: the Redirect of %s into acd-connect was lost; routing again", offer_id[:8], channel)
        if self.on_ring_lost is not None:
            self.on_ring_lost(offer_id)

    def publish(self, command: PublishNext | WithdrawNext) -> Awaitable[None]:
        """Write (or clear) the offer a caller entering the queue claims on the PBX: the global
        ``ACD_NEXT_<queue>``, an acd-connect target in the one form (docs/dialplan.md, "Claims"), this
        leader's epoch in it. With a publication goes ``ACD_CLAIM_HOLD`` (how long an agent's mark
        holds: the ring timeout and a margin), which turns the marking of every offer on. An offer the
        one form cannot carry (a long endpoint name) is not published: nothing is there to claim."""
        value = ""
        actions: list[dict[str, str]] = []
        if isinstance(command, PublishNext):
            self._marking = True  # from now on every offer takes its agent's mark
            seconds = max(1, math.ceil(command.ring_timeout_seconds))
            try:
                exten = dialable_endpoint(command.endpoint)
            except NotDialable:
                exten = ""
            value = (exten and offer_target(exten, command.offer_id, seconds, self.epoch, command.record)) or ""
            actions.append(_global(CLAIM_HOLD_VARIABLE, str(seconds + CLAIM_HOLD_MARGIN_SECONDS)))
        actions.append(_global(NEXT_VARIABLE_PREFIX + command.queue, value))
        return self._write(None, *actions)

    def cancel(self, channel: str) -> Awaitable[None]:
        """Stop ringing: send the caller back to holding (Dial ends with CANCEL). Written at once."""
        return self._write(None, _redirect(channel, *HOLD))

    def overflow(
        self, channel: str, target: str, attempt: int = 1, announcement: str = "", name: str = ""
    ) -> Awaitable[None]:
        """Hand the caller to ``acd-overflow,<target>`` (``voicemail``, ``fallback``, …). Written at once.

        Sent again when it does not land, up to ``overflow_attempts`` times in all. ``announcement``
        (a closed queue's) goes first as ``ACD_CLOSED_PROMPT``, which acd-overflow plays before its
        treatment; none is sent when there is none.
        """
        exten = overflow_extension(target)
        sounds = check_announcement(announcement)
        key = self.confirmations.expect(
            channel,
            user_event("AcdOverflowed", AcdTarget=target),
            lambda: self._overflow_lost(channel, target, attempt, sounds),
        )
        prompt = (_setvar(channel, "ACD_CLOSED_PROMPT", sounds),) if sounds else ()
        # a closed queue's callback: the id it will have, for the file of the name the caller records
        named = (_setvar(channel, CALLBACK_NAME_VARIABLE, name),) if name else ()
        return self._write(key, *prompt, *named, _redirect(channel, OVERFLOW_CONTEXT, exten))

    def tag(
        self,
        channel: str,
        queue: str,
        priority: int,
        enqueued_at: float,
        waited_before: float = 0.0,
        *,
        new_stay: bool = False,
    ) -> Awaitable[None]:
        """Write where the caller stands (``TagCall``) onto the channel: four Setvars, pipelined
        (``ACD_WAITED``: the caller's wait in earlier stays, docs/dialplan.md); for a new stay a fifth
        clears ``ACD_DIRECTED`` (the agent a transfer named, whom the caller no longer waits for).

        The ACD itself routes from the core; these are what a restarted ACD reads back (resync).
        """
        undirected = (_setvar(channel, DIRECTED, ""),) if new_stay else ()
        return self._write(
            None,
            _setvar(channel, "ACD_QUEUE", queue),
            _setvar(channel, "ACD_PRIORITY", str(priority)),
            _setvar(channel, "ACD_ENQUEUED", f"{enqueued_at:.6f}"),
            _setvar(channel, "ACD_WAITED", f"{waited_before:.6f}"),
            *undirected,
        )

    def transfer(
        self, caller: str, endpoint: str, queue: str, number: str = "", target_endpoint: str = ""
    ) -> Awaitable[None]:
        """Have the agent's leg transfer the caller blind to ``queue``, to the agent at
        ``target_endpoint`` (``acd-transfer,agent-<endpoint>``: the caller's queue, that agent first),
        or to the outside ``number`` (``TransferCall``; only one allowed by ``transfer_numbers``).

        The transferer of an AMI ``BlindTransfer`` is the agent's channel, which the ACD does not
        keep: it is read from the caller's ``BRIDGEPEER`` and must be a channel of ``endpoint``
        (``PJSIP/<endpoint>-<n>``), or nothing is sent. The target is ``acd-transfer,queue-<queue>``,
        a plain extension name, checked before it leaves (``acd.dialling``) and again by the dialplan.
        """
        if number:
            if not transfer_numbers.allowed(number, self.transfer_numbers):
                raise NotDialable(f"{number[:40]!r} is not a number transfers may dial")
            exten = number
        elif target_endpoint:
            exten = f"{AGENT_TRANSFER_PREFIX}{dialable_endpoint(target_endpoint)}"
        else:
            exten = overflow_extension(f"{QUEUE_TRANSFER_PREFIX}{queue}")
        dialable_endpoint(endpoint)
        return self._transfer(caller, endpoint, exten)

    async def _transfer(self, caller: str, endpoint: str, exten: str) -> None:
        peer = await self._agent_channel(caller, "BRIDGEPEER", endpoint)
        await self._send({"Action": "BlindTransfer", "Channel": peer, "Context": TRANSFER_CONTEXT, "Exten": exten})

    async def monitor(self, caller: str, command: MonitorCall) -> None:
        """Join a supervisor to the conversation of the caller on ``caller`` (``MonitorCall``).

        The agent's leg is the caller's ``BRIDGEPEER``, read now and checked to be a channel of the
        agent's endpoint; then the supervisor's phone is rung (``Originator``) or, when it asked by
        feature code, its waiting channel is sent into ``acd-monitor`` with ``ACD_SPY`` set first.
        """
        if command.mode not in MODES:
            raise NotDialable(f"monitor mode {command.mode[:20]!r} is not one of {', '.join(MODES)}")
        spied = endpoint_channel(await self._bridge_peer(caller), bare_endpoint(command.agent_endpoint))
        if command.supervisor_channel:
            phone = endpoint_channel(command.supervisor_channel, dialable_endpoint(command.supervisor_endpoint))
            await self._write(
                None,
                _setvar(phone, "ACD_SPY", spied),
                _redirect(phone, MONITOR_CONTEXT, command.mode),
            )
            return
        if self.originator is None:
            raise NotDialable("monitoring is off: no originate user is configured")
        await self.originator.originate(command.supervisor_endpoint, command.mode, spied)
        log.info(
            "call %s: %s rung to %s agent %s", command.call_id[:8], command.supervisor_endpoint, command.mode, spied
        )

    async def ring_callback(self, command: RingAgent) -> None:
        """Serve a callback (``RingAgent.callback``): ring the agent, who then dials the caller."""
        if self.originator is None:
            raise NotDialable("callbacks are off: no originate user is configured")
        self._callbacks += 1
        names = self.callback_names
        spoken = names is not None and await asyncio.to_thread(names.spoken, command.call_id)
        action = callback_action(
            bare_endpoint(command.endpoint),
            command.callback,
            command.offer_id,
            command.ring_timeout_seconds,
            f"acd-callback-{self._callbacks}",
            command.queue,
            name=command.call_id if spoken else "",
            epoch=self.epoch,  # fenced as an offer is: acd-callback-agent compares it with ACD_EPOCH
        )
        self._check_fence()  # still leading after the look at the name's file
        await self.originator.send(action)
        log.info("call %s: callback, agent %s rung first", command.call_id[:8], command.agent_id)

    async def refuse_monitor(self, phone: str, supervisor: str) -> None:
        """A supervisor's phone waiting in ``acd-monitor-ask`` hears "no service" now, not after 5 s."""
        channel = endpoint_channel(phone, dialable_endpoint(supervisor))
        await self._send({**_redirect(channel, "acd-monitor-ask", "s"), "Priority": "refused"})

    def _start(self, work: Awaitable[None]) -> Awaitable[None]:
        """Run ``work`` at once (not when the runtime's worker comes to wait for it)."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        return task

    def consult(self, caller: str, endpoint: str, target_endpoint: str, number: str = "") -> Awaitable[None]:
        """Have the agent's leg start an attended transfer to the agent at ``target_endpoint``
        (``ConsultCall``). AMI ``Atxfer`` plays the feature code and the extension into the channel
        as DTMF, so the extension must be digits: the target goes first onto the agent's channel (the
        caller's ``BRIDGEPEER``, checked as for ``transfer``) as ``__ACD_CONSULT_TARGET`` (inherited
        by the consult leg), then ``Atxfer`` to ``acd-transfer,00``, which consults that endpoint; it
        is a plain name, checked here and again by the dialplan. An outside ``number`` (only one allowed
        by ``transfer_numbers``, checked here too) goes the same way to ``acd-transfer,01``, whose
        consult dials it only when the allowed patterns match it there as well."""
        dialable_endpoint(endpoint)
        if number:
            if not transfer_numbers.allowed(number, self.transfer_numbers):
                raise NotDialable(f"{number[:40]!r} is not a number transfers may dial")
            return self._consult(caller, endpoint, number, CONSULT_NUMBER_EXTEN)
        dialable_endpoint(target_endpoint)
        return self._consult(caller, endpoint, target_endpoint, CONSULT_EXTEN)

    def consult_picked(self, leg: str, target_endpoint: str) -> Awaitable[None]:
        """Tell the consult leg an agent's phone started for a queue (``*2`` then the queue's number,
        waiting in ``acd-transfer``'s ``consult-queue``) the agent the ACD picked:
        ``ACD_CONSULT_PICKED=<endpoint>`` on that leg, a ``Local/`` channel (the one that raised the
        request), which then dials that agent as a consult by number does. The endpoint is a plain
        name, checked here and again by the dialplan."""
        dialable_endpoint(target_endpoint)
        if not leg.startswith("Local/"):
            raise NotDialable(f"{leg[:80]!r} is not a consult leg (a Local channel)")
        return self._start(self._setvar(leg, CONSULT_PICKED_VARIABLE, target_endpoint))

    async def _consult(self, caller: str, endpoint: str, target: str, exten: str) -> None:
        peer = await self._agent_channel(caller, "BRIDGEPEER", endpoint)
        await self._send({"Action": "Setvar", "Channel": peer, "Variable": CONSULT_TARGET, "Value": target})
        await self._send({"Action": "Atxfer", "Channel": peer, "Context": TRANSFER_CONTEXT, "Exten": exten})

    def finish_consult(self, caller: str, endpoint: str, action: str) -> Awaitable[None]:
        """Complete (hang up the agent's leg: Asterisk joins the caller and the consulted agent) or
        cancel (``CancelAtxfer``: back to the caller) the open consult (``FinishConsult``). The agent's
        channel is the one the consult leg wrote on the caller (``SHARED(ACD_CONSULT_LEG)``), checked
        to be a channel of ``endpoint``."""
        dialable_endpoint(endpoint)
        return self._finish_consult(caller, endpoint, action)

    async def _finish_consult(self, caller: str, endpoint: str, action: str) -> None:
        leg = await self._agent_channel(caller, "SHARED(ACD_CONSULT_LEG)", endpoint)
        if action == "complete":
            await self._send({"Action": "Hangup", "Channel": leg})
        else:
            await self._send({"Action": "CancelAtxfer", "Channel": leg})

    async def _bridge_peer(self, caller: str) -> str:
        """The caller's ``BRIDGEPEER``. The ACD hears of an answer (``AcdAnswered``, raised on
        the agent's leg before Asterisk bridges the two), so a command right after it can find the peer
        still empty: asked again every ``BRIDGE_POLL_SECONDS`` for up to ``BRIDGE_WAIT_SECONDS``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BRIDGE_WAIT_SECONDS
        while True:
            reply = await self._send({"Action": "Getvar", "Channel": caller, "Variable": "BRIDGEPEER"})
            peer = reply.get("Value", "") or ""
            if peer or loop.time() >= deadline:
                return peer
            await asyncio.sleep(BRIDGE_POLL_SECONDS)

    async def _agent_channel(self, caller: str, variable: str, endpoint: str) -> str:
        if variable == "BRIDGEPEER":
            peer = await self._bridge_peer(caller)
        else:
            reply = await self._send({"Action": "Getvar", "Channel": caller, "Variable": variable})
            peer = reply.get("Value", "") or ""
        tech, _, name = peer.partition("/")
        if tech.upper() != "PJSIP" or name.rpartition("-")[0] != endpoint:
            raise NotCarriedOut(f"the caller's {variable} is not a channel of {endpoint}")
        return peer

    def _overflow_lost(self, channel: str, target: str, attempt: int, sounds: str = "") -> None:
        self._lost("overflow")
        if attempt >= self._overflow_attempts:
            log.error("overflow of %s to %s was lost %d times; the caller stays in holding", channel, target, attempt)
            return
        log.warning("overflow of %s to %s was lost; sending it again", channel, target)
        task = asyncio.get_running_loop().create_task(self._overflow_again(channel, target, attempt + 1, sounds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _overflow_again(self, channel: str, target: str, attempt: int, sounds: str = "") -> None:
        try:
            await self.overflow(channel, target, attempt, sounds)
        except Exception as exc:  # most often: the caller hung up meanwhile
            log.warning("overflow of %s to %s, attempt %d: %s", channel, target, attempt, exc)

    async def heartbeat(self, epoch: int) -> None:
        """Refresh the global ACD_HEARTBEAT that holding checks to know the ACD is alive; with a lease,
        write this term's epoch beside it (ACD_EPOCH, docs/dialplan.md "Fencing"), and neither once
        this process no longer leads: an old leader must never put its epoch back over a newer one."""
        self._check_fence()
        await self._send({"Action": "Setvar", "Variable": "ACD_HEARTBEAT", "Value": str(int(epoch))})
        if self.may_fence is not None and not self.may_fence():
            return  # the lease is unconfirmed (an outage): the PBX keeps the epoch it has
        # without a lease (a harness that builds the parts itself): no epoch in force, nothing is fenced
        value = "" if self.epoch is None else str(self.epoch)
        await self._send({"Action": "Setvar", "Variable": EPOCH_VARIABLE, "Value": value})

    async def set_token(self, token: EventToken, now: float) -> None:
        """Put this run's token in force on the PBX (global ``ACD_TOKEN``, docs/dialplan.md).

        The value the PBX held until now (a previous run's) is read first and still accepted for a
        short while: events raised before the ``Setvar`` took effect carry it.
        """
        self._check_fence()
        reply = await self._send({"Action": "Getvar", "Variable": TOKEN_VARIABLE})
        token.adopt_previous(reply.get("Value", "") or "", now)
        await self._send({"Action": "Setvar", "Variable": TOKEN_VARIABLE, "Value": token.current})
        await self._send_transfer_numbers()

    async def keep_token(self, token: EventToken) -> None:
        """Write this run's token again, with each heartbeat: a ``dialplan reload`` on a PBX with
        ``clearglobalvars=yes`` wipes the global, and every event would be refused until the next
        reconnect. Nothing is read back: the PBX's value is ours or nothing. Not while the lease is
        unconfirmed (a lone leader through a PostgreSQL outage, docs/standby.md "Members"): a standby may
        have taken over meanwhile, and writing this run's token over its own every heartbeat would make
        it refuse the PBX's events."""
        self._check_fence()
        if self.may_fence is not None and not self.may_fence():
            return
        await self._send({"Action": "Setvar", "Variable": TOKEN_VARIABLE, "Value": token.current})
        await self._send_transfer_numbers()

    async def _send_transfer_numbers(self) -> None:
        """The globals ``ACD_TRANSFER_NUMBERS`` and ``ACD_CALLBACK_NUMBERS``: the allowed patterns as one
        regular expression each (empty: the dialplan refuses every number). Written with the token, for
        the same reasons."""
        value = transfer_numbers.regex(self.transfer_numbers)
        await self._send({"Action": "Setvar", "Variable": TRANSFER_NUMBERS_VARIABLE, "Value": value})
        value = transfer_numbers.regex(self.callback_numbers)
        await self._send({"Action": "Setvar", "Variable": CALLBACK_NUMBERS_VARIABLE, "Value": value})

    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None:
        """Set ACD_POSITION (1 = next) and ACD_EWT (seconds; empty = unknown) for holding to announce."""
        await self._setvar(channel, "ACD_POSITION", str(position))
        await self._setvar(channel, "ACD_EWT", "" if ewt_seconds is None else str(ewt_seconds))

    async def say_waited(self, channel: str, seconds: int | None) -> None:
        """Set ACD_WAITED_SAY, the caller's wait so far as holding says it (acd.core.wait_said; empty:
        nothing to say). Only a value ``wait_said`` gives reaches the PBX."""
        if seconds is not None and not is_said(seconds):
            raise ValueError(f"not a wait holding says: {seconds!r}")
        await self._setvar(channel, "ACD_WAITED_SAY", "" if seconds is None else str(seconds))

    def agent_leg_of(self, call_id: str) -> str | None:
        """The agent's channel of a call in conversation (from its ``AcdAnswered``), where MixMonitor runs."""
        return self.book.agent_leg_of(call_id)

    def agent_uniqueid_of(self, call_id: str) -> str | None:
        """The Uniqueid of that channel, which names the recording of the stay (docs/dialplan.md)."""
        return self.book.agent_uniqueid_of(call_id)

    async def keep_recording_pause(self, channel: str, paused_at: str) -> None:
        """Write on the agent's ``channel`` when its recording was paused (``ACD_PAUSED_AT``, an epoch;
        empty: not paused), where a restarted ACD reads it back (docs/dialplan.md, "Recordings")."""
        await self._setvar(channel, PAUSED_AT, paused_at)

    async def mute_recording(self, channel: str, muted: bool) -> None:
        """Pause (``muted``) or resume the recording on the agent's ``channel``: MixMonitorMute of both
        directions, so the file keeps the call's length with silence where it was paused. Asterisk
        grants the action to write class ``call`` (docs/dialplan.md, "Recordings")."""
        await self._send(
            {"Action": "MixMonitorMute", "Channel": channel, "Direction": "both", "State": "1" if muted else "0"}
        )

    async def callback_kept(self, call_id: str, at: float | None = None, zone: str = "", name: str = "") -> bool:
        """Tell a caller that their scheduled callback is kept (``ACD_CB_KEPT=1`` on their channel:
        ``acd-callback-confirm`` waits for it before it thanks them, docs/dialplan.md "Closed queues",
        "Callbacks at a time"), first writing when (``ACD_CB_AT``, an epoch; ``ACD_CB_ZONE``, the
        queue's zone) and, for a holding caller's, the callback's id for their name (``ACD_CB_NAME``).
        A holding caller still holds until the dialplan says they heard it (``AcdCallbackAtKept``).
        False when their channel is no longer known or Asterisk refused the Setvar (they hung up)."""
        channel = self.book.channel_of(call_id)
        if channel is None:
            return False
        values = []
        if at is not None and math.isfinite(at) and at > 0 and ZONE.fullmatch(zone):
            values += [(CALLBACK_AT_VARIABLE, str(round(at))), (CALLBACK_ZONE_VARIABLE, zone)]
        if NAME.fullmatch(name):
            values.append((CALLBACK_NAME_VARIABLE, name))
        try:
            for variable, value in [*values, (CALLBACK_KEPT_VARIABLE, "1")]:
                await self._setvar(channel, variable, value)
        except (AmiActionError, ConnectionError, TimeoutError) as exc:
            log.warning("call %s: could not tell the caller their callback is kept: %s", call_id[:8], exc)
            return False
        return True

    async def hangup(self, channel: str, cause: int = 16) -> None:
        """Hang up a channel (cause 16: normal clearing)."""
        await self._send({"Action": "Hangup", "Channel": channel, "Cause": str(cause)})

    async def _setvar(self, channel: str, variable: str, value: str) -> None:
        await self._send(_setvar(channel, variable, value))

    async def _send(self, action: dict[str, str]) -> Message:
        self._check_fence()
        return await self._link.send(action, self._timeout)


def channel_gone(exc: BaseException) -> bool:
    """Asterisk refused an action because the channel does not exist (any more)."""
    if not isinstance(exc, AmiActionError):
        return False
    message = exc.message.lower()
    return "no such channel" in message or "channel does not exist" in message


def _busy(action: Mapping[str, str], error: BaseException) -> bool:
    """A Redirect refused because the channel is still on its way to an earlier Redirect's target."""
    return (
        action.get("Action") == "Redirect"
        and isinstance(error, AmiActionError)
        and "channel not up" in error.message.lower()
    )


def _setvar(channel: str, variable: str, value: str) -> dict[str, str]:
    return {"Action": "Setvar", "Channel": channel, "Variable": variable, "Value": value}


def _global(variable: str, value: str) -> dict[str, str]:
    return {"Action": "Setvar", "Variable": variable, "Value": value}


NEXT_VARIABLE_PREFIX = "ACD_NEXT_"  # the PBX global of a queue's published offer (docs/dialplan.md, "Claims")
CLAIM_HOLD_VARIABLE = "ACD_CLAIM_HOLD"  # seconds an agent's mark holds; set: every offer takes a mark
CLAIM_HOLD_MARGIN_SECONDS = 5
MARK_CONTEXT = "acd-connect-mark"  # claims on: an offer's Redirect takes its agent's mark there first


# a command on a call just answered waits this long at most for the caller's bridge peer (see _bridge_peer)
BRIDGE_WAIT_SECONDS = 3.0
BRIDGE_POLL_SECONDS = 0.1
OFFER_EPOCH_VARIABLE = "ACD_OFFER_EPOCH"  # on the caller's channel: the epoch of the term that offered
EPOCH_VARIABLE = "ACD_EPOCH"  # the PBX global: the leader's epoch; acd-connect refuses any other


def _redirect(channel: str, context: str, exten: str) -> dict[str, str]:
    return {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten, "Priority": "1"}
