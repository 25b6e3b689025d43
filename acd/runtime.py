"""The one writer: every event from every source passes through here, one at a time, into the core.

AMI, HTTP and timers only *submit* events; a single task feeds them to ``Acd.handle`` and hands each
resulting command to its adapter. Because nothing else mutates routing state, no lock or race can
ever ring an agent twice. Call-control commands go to a second, ordered worker so that a slow AMI
round-trip never delays the next routing decision, and a failed action comes back as an event so
the core can recover (a caller is never stranded, an agent never stuck in RESERVED).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from acd.ami.errors import AmiActionError
from acd.core.acd import Acd
from acd.core.commands import (
    CancelOffer,
    CancelTimer,
    Command,
    MetricUpdate,
    OverflowCall,
    RecordCommand,
    RingAgent,
    StartTimer,
    TagCall,
)
from acd.core.errors import AcdError
from acd.core.events import CallArrived, CallEnded, Event, OfferFailed, TimerFired
from acd.core.record_types import InteractionRecord, Record
from acd.core.timers import TimerKey
from acd.forecast import Forecaster
from acd.log_throttle import LogThrottle
from acd.metrics import Metrics
from acd.wallboard.today import ServiceLevelToday

log = logging.getLogger(__name__)
CHANNEL_GONE_GRACE = 1.0
"""Seconds between Asterisk saying a caller's channel is gone and the call leaving its queue as
``failed``/``channel_gone``: a caller who really hung up has their ``Hangup`` event (published
after the reply that said so) close the call as abandoned first."""


class CallControl(Protocol):
    """What the runtime needs from Asterisk (implemented over AMI by ``acd.ami.control``).

    Each method puts its actions on the wire before it returns, or raises if it cannot; what it
    returns is the wait for Asterisk's replies, which raises the first refusal.
    """

    def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]: ...

    def cancel(self, channel: str) -> Awaitable[None]: ...

    def overflow(self, channel: str, target: str) -> Awaitable[None]: ...

    def tag(self, channel: str, queue: str, priority: int, enqueued_at: float) -> Awaitable[None]: ...


class RecordSink(Protocol):
    """Where records go (the durable outbox). ``append`` must be fast and never wait on PostgreSQL."""

    def append(self, record: Record) -> None: ...


ControlCommand = RingAgent | CancelOffer | OverflowCall | TagCall


class Draining(Exception):
    """The runtime takes no new events: it is shutting down."""


class CoreFailed(Exception):
    """The core raised something other than an ``AcdError`` (a bug); it is logged with its trace."""


@dataclass(frozen=True, slots=True)
class _Question:
    """An event whose submitter waits for the core's verdict (the HTTP API's changes)."""

    event: Event
    verdict: asyncio.Future[list[Command]]


@dataclass(frozen=True, slots=True)
class _ControlJob:
    command: ControlCommand
    replies: Awaitable[None]


class Runtime:
    def __init__(
        self,
        core: Acd,
        control: CallControl,
        records: RecordSink,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        self._control = control
        self._records = records
        self._metrics = metrics
        self._clock = clock
        self._inbox: asyncio.Queue[Event | _Question | None] = asyncio.Queue()
        self._jobs: asyncio.Queue[_ControlJob | None] = asyncio.Queue()
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._channels: dict[str, str] = {}  # call id -> caller channel, for call control
        self._closed: dict[str, None] = {}  # calls closed by the event being handled: forget after it
        self._answered: set[str] = set()  # calls whose answer is logged (a call's records repeat it)
        self._gone: dict[str, None] = {}  # calls whose channel Asterisk says is gone: no more rings
        self._quiet = LogThrottle(log)
        self.forecaster = Forecaster()
        self.today = ServiceLevelToday(clock())  # the wallboard's service level of the calendar day
        self.changed = asyncio.Event()  # set after every handled event: the wallboard publishes sooner
        self._accepting = True
        self._running = False
        self.handled = 0
        self.refused = 0

    # -- sources -------------------------------------------------------------------------------
    def submit(self, event: Event) -> bool:
        """Queue an event for the writer. Returns False once draining has begun."""
        if not self._accepting:
            return False
        self._inbox.put_nowait(event)
        return True

    def deliver(self, event: Event) -> bool:
        """Handle the event here and now when nothing is queued ahead of it; else queue it.

        For the AMI pump: a caller's event reaches the core without a hop through the inbox, so
        its ring is written a loop turn sooner. The order still holds: with the inbox empty there
        is nothing earlier to handle, and ``handle_now`` never yields.
        """
        if self._running and self._accepting and self._inbox.empty():
            self.handle_now(event)
            return True
        return self.submit(event)

    async def ask(self, event: Event) -> list[Command]:
        """Handle the event in its turn and return its commands, or raise the core's refusal.

        For callers that must answer someone (the HTTP API): the event waits behind everything
        submitted before it, like any other, and the writer hands back what the core said:
        ``AcdError`` when the event is not allowed, ``CoreFailed`` on a bug, ``Draining`` when the
        runtime stopped taking events.
        """
        if not self._accepting:
            raise Draining
        if self._running and self._inbox.empty():
            return self._handle(event, refuse=True)
        verdict: asyncio.Future[list[Command]] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Question(event, verdict))
        return await verdict

    def now(self) -> float:
        return self._clock()

    def channel_of(self, call_id: str) -> str | None:
        return self._channels.get(call_id)

    # -- the writer ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Process events until ``drain`` is called and the inbox is empty, then finish call control."""
        worker = asyncio.create_task(self._control_worker(), name="acd-call-control")
        self._running = True
        try:
            while (item := await self._inbox.get()) is not None:
                if isinstance(item, _Question):
                    self._answer(item)
                else:
                    self.handle_now(item)
        finally:
            self._running = False
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()
            self._jobs.put_nowait(None)
            await worker

    def drain(self) -> None:
        """Stop taking new events; ``run`` finishes what is queued and returns."""
        if self._accepting:
            self._accepting = False
            self._inbox.put_nowait(None)

    def handle_now(self, event: Event) -> list[Command]:
        return self._handle(event, refuse=False)

    def _answer(self, question: _Question) -> None:
        try:
            commands = self._handle(question.event, refuse=True)
        except Exception as exc:
            if not question.verdict.done():  # the asker may have gone (request cancelled)
                question.verdict.set_exception(exc)
            return
        if not question.verdict.done():
            question.verdict.set_result(commands)

    def _handle(self, event: Event, *, refuse: bool) -> list[Command]:
        """Feed one event to the core; with ``refuse``, raise its refusal instead of only logging it."""
        if isinstance(event, CallArrived) and event.channel:
            self._channels.setdefault(event.call_id, event.channel)
        started = time.perf_counter()
        try:
            commands = self.core.handle(event, self._clock())
        except AcdError as exc:
            self.refused += 1
            self._metrics.refused_events.labels(type(exc).__name__).inc()
            self._quiet.warning(type(exc).__name__, "refused %s: %s", type(event).__name__, exc)
            if refuse:
                raise
            return []
        except Exception as exc:  # a bug must not stop routing for everyone; it is logged with its trace
            self.refused += 1
            self._metrics.refused_events.labels("internal").inc()
            self._quiet.log(logging.ERROR, "internal", "the core failed on %r", event, exc_info=exc)
            if refuse:
                raise CoreFailed(type(exc).__name__) from exc
            return []
        finally:
            self._metrics.decision_seconds.observe(time.perf_counter() - started)
        self.handled += 1
        self.changed.set()
        if isinstance(event, CallArrived):
            log.info("call %s: queued in %s (priority %d)", event.call_id[:8], event.queue, event.priority)
        try:
            # Call control first, so a ring is on the wire before records, metrics and logs are done.
            # A cancel followed by a new place for the same call (another agent, an overflow) is
            # left to that Redirect, which ends the Dial all the same: Asterisk would refuse a
            # second Redirect while the first is still being carried out.
            moved: set[str] = set()  # calls sent somewhere by a later command of this batch
            skip: set[int] = set()
            for index in range(len(commands) - 1, -1, -1):
                command = commands[index]
                if isinstance(command, RingAgent | OverflowCall):
                    moved.add(command.call_id)
                elif isinstance(command, CancelOffer) and command.call_id in moved:
                    skip.add(index)
            for index, command in enumerate(commands):
                if isinstance(command, ControlCommand) and index not in skip:
                    self._control_now(command)
            for command in commands:
                if not isinstance(command, ControlCommand):
                    self._dispatch(command)
        finally:
            # Forget a closed call's channel only after all of the event's commands: the closing
            # record can come before the call control that goes with it (an overflowed call's
            # record comes before its OverflowCall).
            for call_id in self._closed:
                self._channels.pop(call_id, None)
                self._gone.pop(call_id, None)
            self._closed.clear()
        return commands

    def _control_now(self, command: ControlCommand) -> None:
        """Write the command's actions now; the worker waits for the replies, in order."""
        channel = self._channels.get(command.call_id)
        if isinstance(command, RingAgent) and command.call_id in self._gone:
            self.submit(OfferFailed(command.offer_id, "no such channel"))  # the PBX said so a moment ago
            return
        if channel is None:
            log.error("no channel known for call %s; cannot %s", command.call_id, type(command).__name__)
            if isinstance(command, RingAgent):
                self.submit(OfferFailed(command.offer_id, "no channel"))
            return
        try:
            if isinstance(command, RingAgent):
                replies = self._control.ring(channel, command.offer_id, command.endpoint, command.ring_timeout_seconds)
            elif isinstance(command, CancelOffer):
                replies = self._control.cancel(channel)
            elif isinstance(command, TagCall):
                replies = self._control.tag(channel, command.queue, command.priority, command.enqueued_at)
            else:
                replies = self._control.overflow(channel, command.target)
        except Exception as exc:  # not even written (the link is down): the core hears of it at once
            self._control_failed(command, exc)
            return
        if isinstance(command, RingAgent):
            log.info("call %s: ringing %s", command.call_id[:8], command.agent_id)
        self._jobs.put_nowait(_ControlJob(command, replies))

    def _control_failed(self, command: ControlCommand, exc: Exception) -> None:
        """AMI errors come back to the core as events, never as crashes."""
        self._quiet.warning(f"control-{type(command).__name__}", "%s for call %s failed: %s",
                            type(command).__name__, command.call_id, exc)
        if channel_gone(exc) and isinstance(command, RingAgent | TagCall) and command.call_id not in self._gone:
            # A phantom (an enqueue for a channel that never was) or a caller gone unseen: the call
            # leaves its queue with that reason instead of waiting for ever.
            self._gone[command.call_id] = None
            asyncio.get_running_loop().call_later(CHANNEL_GONE_GRACE, self._channel_gone, command.call_id)
        if isinstance(command, RingAgent):
            reason = " ".join(f"ami: {exc}".split())[:200]  # one line the core accepts as a reason
            self.submit(OfferFailed(command.offer_id, reason))

    def _channel_gone(self, call_id: str) -> None:
        if call_id in self._gone and call_id in self._channels:  # not closed meanwhile (by its Hangup)
            self.submit(CallEnded(call_id, reason="channel_gone"))

    def _dispatch(self, command: Command) -> None:
        if isinstance(command, StartTimer):
            self._start_timer(command)
        elif isinstance(command, CancelTimer):
            handle = self._timers.pop(command.key, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(command, RecordCommand):
            self._record(command.record)
        elif isinstance(command, MetricUpdate):
            try:
                self._metrics.apply(command)
            except ValueError as exc:  # a metric we do not export must never stop routing
                log.error("%s", exc)
            now = self._clock()
            self.forecaster.observe(command, now)
            self.today.observe(command, now)

    def _start_timer(self, command: StartTimer) -> None:
        old = self._timers.pop(command.key, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, command.at - self._clock())
        loop = asyncio.get_running_loop()
        self._timers[command.key] = loop.call_later(delay, self._fire, command.key)

    def _fire(self, key: TimerKey) -> None:
        self._timers.pop(key, None)
        self.submit(TimerFired(key))

    def _record(self, record: Record) -> None:
        if (
            isinstance(record, InteractionRecord)
            and record.ended_at is not None
            and record.interaction_id in self._channels
            and record.interaction_id not in self._closed
        ):
            self._closed[record.interaction_id] = None
            self._answered.discard(record.interaction_id)
            log.info(
                "call %s: %s after %.1f s in %s%s",
                record.interaction_id[:8], record.outcome, record.wait_seconds or 0.0, record.queue,
                f" by {record.agent_id}, talked {record.talk_seconds or 0.0:.1f} s" if record.agent_id else "",
            )
        elif (
            isinstance(record, InteractionRecord)
            and record.answered_at is not None
            and record.ended_at is None
            and record.interaction_id in self._channels
            and record.interaction_id not in self._answered
        ):
            # Said when it happens: a talk of minutes must not hide, until it ends, that calls are answered.
            self._answered.add(record.interaction_id)
            log.info("call %s: answered by %s after %.1f s in %s", record.interaction_id[:8], record.agent_id,
                     record.wait_seconds or 0.0, record.queue)
        try:
            self._records.append(record)
        except Exception:  # a full disk must not stop routing; the sink has logged what it lost
            log.exception("could not journal %s %s", type(record).__name__, getattr(record, "seq", ""))

    # -- call control --------------------------------------------------------------------------
    async def _control_worker(self) -> None:
        while (job := await self._jobs.get()) is not None:
            await self._execute(job)

    async def _execute(self, job: _ControlJob) -> None:
        try:
            await job.replies
        except Exception as exc:
            self._control_failed(job.command, exc)


def channel_gone(exc: BaseException) -> bool:
    """Asterisk refused an action because the channel does not exist (any more)."""
    if not isinstance(exc, AmiActionError):
        return False
    message = exc.message.lower()
    return "no such channel" in message or "channel does not exist" in message
