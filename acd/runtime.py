"""The one writer: every event from every source passes through here, one at a time, into the core.

AMI, HTTP and timers only *submit* events; a single task feeds them to ``Acd.handle`` and hands each
resulting command to its port (``acd.ports``): call control, the record sink, Prometheus and the
metric sinks, or the event loop's timers. Because nothing else mutates routing state, no lock or
race can ever ring an agent twice. Call control is written at once and its replies are awaited by a
second, ordered worker, so that a slow AMI round-trip never delays the next routing decision; a
failed ring comes back as an event so the core can recover (a caller is never stranded, an agent
never stuck in RESERVED). Which channel a call is on is call control's business, not the runtime's.
The last events fed to the core are kept (``acd.stimulus``) and dumped when the core fails on a bug.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from acd.core.acd import Acd
from acd.core.commands import (
    CancelTimer,
    CloseScheduledCallback,
    Command,
    ControlCommand,
    KeepScheduledCallback,
    MetricUpdate,
    PublishNext,
    RecordCommand,
    RingAgent,
    StartTimer,
    WithdrawNext,
)
from acd.core.config import QueueConfig, RoutingConfig
from acd.core.errors import AcdError
from acd.core.events import CallArrived, Event, OfferFailed, TimerFired
from acd.core.otf import OtfLedger, Verdict
from acd.core.record_types import InteractionRecord, Record
from acd.core.timers import TimerKey
from acd.log_throttle import LogThrottle
from acd.metrics import Metrics
from acd.ports import CallControl, MetricSink, RecordSink
from acd.stimulus import StimulusLog
from acd.wallboard.today import ServiceLevelToday

__all__ = ["CoreFailed", "Draining", "Runtime", "Standby"]

log = logging.getLogger(__name__)


class Draining(Exception):
    """The runtime takes no new events: it is shutting down."""


class Standby(Draining):
    """The runtime takes no events: this process is a standby, it does not route (docs/standby.md)."""


class CoreFailed(Exception):
    """The core raised something other than an ``AcdError`` (a bug); it is logged with its trace."""


@dataclass(frozen=True, slots=True)
class _Question:
    """An event whose submitter waits for the core's verdict (the HTTP API's changes)."""

    event: Event
    verdict: asyncio.Future[list[Command]]


@dataclass(frozen=True, slots=True)
class _ControlJob:
    command: ControlCommand | PublishNext | WithdrawNext
    replies: Awaitable[None]


def _queues_of(config: RoutingConfig) -> dict[str, QueueConfig]:
    return {q.name: q for q in config.queues}


class Runtime:
    """The one writer. ``sinks`` read every metric update after Prometheus (the forecaster, the
    day's tally); ``stimuli`` keeps the events fed to the core (one of its own when not given)."""

    def __init__(
        self,
        core: Acd,
        control: CallControl,
        records: RecordSink,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        *,
        sinks: Sequence[MetricSink] = (),
        stimuli: StimulusLog | None = None,
    ) -> None:
        self.core = core
        self._control = control
        self._records = records
        self._metrics = metrics
        self._clock = clock
        self._sinks = tuple(sinks)
        self.stimuli = stimuli if stimuli is not None else StimulusLog(core.config)  # dumped when the core fails
        self._inbox: asyncio.Queue[Event | _Question | None] = asyncio.Queue()
        self._jobs: asyncio.Queue[_ControlJob | None] = asyncio.Queue()
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._arrived: dict[str, None] = {}  # calls seen arriving and not closed yet: their ends are logged
        self._answered: set[str] = set()  # calls whose answer is logged (a call's records repeat it)
        self._quiet = LogThrottle(log)
        # OTF's verdicts, settled from the interaction records (docs/kpis.md, "OTF and FCR")
        self.otf = OtfLedger(_queues_of(core.config), core.config.policy.short_abandon_seconds)
        self._otf_config = core.config
        # The wallboard reads the day's tally through the runtime (``acd.http.wallboard``): the one
        # handed in among the sinks; a runtime given none keeps one of its own, so a board still has a day.
        today = next((sink for sink in self._sinks if isinstance(sink, ServiceLevelToday)), None)
        if today is None:
            today = ServiceLevelToday(clock())
            self._sinks += (today,)
        self.today = today
        self.changed = asyncio.Event()  # set after every handled event: the wallboard publishes sooner
        self._accepting = True
        self._running = False
        # a standby (docs/standby.md): it routes nothing, so the REST API's changes are refused (Draining)
        self.standing_by = False
        self.handled = 0
        self.refused = 0
        # where a callback the core scheduled itself is kept (PostgreSQL, set by the bootstrap)
        self.on_keep: Callable[[KeepScheduledCallback], None] | None = None
        self.on_close_scheduled: Callable[[CloseScheduledCallback], None] | None = None
        # each PBX's "declare it lost" (``Pump.lose``, set by the bootstrap; docs/pbxs.md, "A PBX dies")
        self.pbx_losers: dict[str, Callable[[], bool]] = {}

    # -- sources -------------------------------------------------------------------------------
    def submit(self, event: Event) -> bool:
        """Queue an event for the writer. Returns False once draining has begun."""
        if not self._accepting or self.standing_by:
            return False
        self._inbox.put_nowait(event)
        return True

    def pbx_lost(self, name: str) -> bool:
        """Something outside the AMI link (Kamailio's dispatcher) says the PBX ``name`` is down: it is
        lost if its AMI link is down too (docs/pbxs.md, "A PBX dies"). True when its calls are being
        closed now; False for a PBX unknown, linked, or lost already."""
        lose = self.pbx_losers.get(name)
        return lose is not None and lose()

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
        runtime stopped taking events (``Standby`` on a standby).
        """
        if self.standing_by:
            raise Standby
        if not self._accepting:
            raise Draining
        if self._running and self._inbox.empty():
            return self._handle(event, refuse=True)
        verdict: asyncio.Future[list[Command]] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Question(event, verdict))
        return await verdict

    def now(self) -> float:
        return self._clock()

    def call_open(self, call_id: str) -> bool:
        """Whether a call seen arriving is still open: the record that closes it has not been written."""
        return call_id in self._arrived

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
        # a call seen arriving here for the first time; forgotten again if the core refuses it, since no
        # record will ever close it (a refused duplicate of a known call leaves that call as it was)
        arriving = event.call_id if isinstance(event, CallArrived) and event.call_id not in self._arrived else None
        if arriving is not None:
            self._arrived[arriving] = None
        now = self._clock()
        self.stimuli.record(event, now)
        started = time.perf_counter()
        try:
            commands = self.core.handle(event, now)
        except AcdError as exc:
            self._metrics.decision_seconds.observe(time.perf_counter() - started)
            if arriving is not None:
                self._arrived.pop(arriving, None)
            self.refused += 1
            self._metrics.refused_events.labels(type(exc).__name__).inc()
            self._quiet.warning(type(exc).__name__, "refused %s: %s", type(event).__name__, exc)
            if refuse:
                raise
            return []
        except Exception as exc:  # a bug must not stop routing for everyone; it is logged with its trace
            self._metrics.decision_seconds.observe(time.perf_counter() - started)
            if arriving is not None:
                self._arrived.pop(arriving, None)
            self.refused += 1
            self._metrics.refused_events.labels("internal").inc()
            self._quiet.log(logging.ERROR, "internal", "the core failed on %r", event, exc_info=exc)
            self.stimuli.dump()  # the events that led there, to replay (acd.stimulus)
            if refuse:
                raise CoreFailed(type(exc).__name__) from exc
            return []
        decided = time.perf_counter()
        # Call control first, so a ring is on the wire before records, metrics, logs and the wallboard's
        # wake-up are done; each with the rest of the decision's call control, which may make it needless.
        control = [command for command in commands if isinstance(command, ControlCommand)]
        for index, order in enumerate(control):
            self._control_now(order, control[index + 1 :])
        self._metrics.decision_seconds.observe(decided - started)
        self.handled += 1
        self.changed.set()
        if isinstance(event, CallArrived):
            log.info("call %s: queued in %s (priority %d)", event.call_id[:8], event.queue, event.priority)
        for command in commands:
            if not isinstance(command, ControlCommand):
                self._dispatch(command)
        return commands

    def _control_now(self, command: ControlCommand, rest: list[ControlCommand]) -> None:
        """Write the command's actions now; the worker waits for the replies, in order."""
        try:
            replies = self._control.send(command, rest)
        except Exception as exc:  # not even written (the link is down): the core hears of it at once
            self._control_failed(command, exc)
            return
        if isinstance(command, RingAgent):
            log.info("call %s: ringing %s", command.call_id[:8], command.agent_id)
        self._jobs.put_nowait(_ControlJob(command, replies))

    def _control_failed(self, command: ControlCommand, exc: Exception) -> None:
        """Call control's failures come back to the core as events, never as crashes."""
        self._quiet.warning(
            f"control-{type(command).__name__}",
            "%s for call %s failed: %s",
            type(command).__name__,
            command.call_id,
            exc,
        )
        if isinstance(command, RingAgent):
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__  # one line the core accepts
            self.submit(OfferFailed(command.offer_id, reason))

    def _dispatch(self, command: Command) -> None:
        if isinstance(command, StartTimer):
            self._start_timer(command)
        elif isinstance(command, CancelTimer):
            handle = self._timers.pop(command.key, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(command, RecordCommand):
            self._record(command.record)
        elif isinstance(command, PublishNext | WithdrawNext):
            self._publish(command)
        elif isinstance(command, KeepScheduledCallback):
            if self.on_keep is not None:
                self.on_keep(command)
        elif isinstance(command, CloseScheduledCallback):
            log.warning(
                "scheduled callback %s in %s closed before it entered: %s",
                command.callback_id[:8],
                command.queue,
                command.reason,
            )
            if self.on_close_scheduled is not None:
                self.on_close_scheduled(command)
        elif isinstance(command, MetricUpdate):
            try:
                self._metrics.apply(command)
            except ValueError as exc:  # a metric we do not export must never stop routing
                log.error("%s", exc)
            now = self._clock()
            for sink in self._sinks:
                sink.observe(command, now)

    def _publish(self, command: PublishNext | WithdrawNext) -> None:
        """A queue's published offer (claims, docs/dialplan.md "Claims"): written now; a failure is only
        logged, as the PBX then holds an older publication or none, which a claim meets safely."""
        try:
            replies = self._control.publish(command)
        except Exception as exc:
            self._quiet.warning("control-publish", "publishing the next offer of %s failed: %s", command.queue, exc)
            return
        self._jobs.put_nowait(_ControlJob(command, replies))

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

    def settle_otf(self, now: float) -> None:
        """Count the OTF verdicts whose repeat-contact window is over, and publish those still pending."""
        self._otf_follow_config()
        self._count_otf(self.otf.settle(now), now)
        pending = self.otf.pending()
        self._metrics.set_otf_pending(pending)
        self.today.set_otf_pending(pending)

    def _count_otf(self, verdicts: list[Verdict], now: float) -> None:
        if verdicts:
            self._metrics.count_otf(verdicts)
            self.today.count_otf(verdicts, now)

    def _otf_follow_config(self) -> None:
        if self.core.config is not self._otf_config:
            self._otf_config = self.core.config
            self.otf.queues = _queues_of(self.core.config)
            self.otf.short_abandon_seconds = self.core.config.policy.short_abandon_seconds

    def _record(self, record: Record) -> None:
        if isinstance(record, InteractionRecord):
            self._otf_follow_config()
            now = self._clock()
            self._count_otf(self.otf.observe(record, now), now)
        if (
            isinstance(record, InteractionRecord)
            and record.ended_at is not None
            and record.interaction_id in self._arrived
        ):
            del self._arrived[record.interaction_id]
            self._answered.discard(record.interaction_id)
            log.info(
                "call %s: %s after %.1f s in %s%s",
                record.interaction_id[:8],
                record.outcome,
                record.wait_seconds or 0.0,
                record.queue,
                f" by {record.agent_id}, talked {record.talk_seconds or 0.0:.1f} s" if record.agent_id else "",
            )
        elif (
            isinstance(record, InteractionRecord)
            and record.answered_at is not None
            and record.ended_at is None
            and record.interaction_id in self._arrived
            and record.interaction_id not in self._answered
        ):
            # Said when it happens: a talk of minutes must not hide, until it ends, that calls are answered.
            self._answered.add(record.interaction_id)
            log.info(
                "call %s: answered by %s after %.1f s in %s",
                record.interaction_id[:8],
                record.agent_id,
                record.wait_seconds or 0.0,
                record.queue,
            )
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
            if isinstance(job.command, PublishNext | WithdrawNext):
                self._quiet.warning(
                    "control-publish", "publishing the next offer of %s failed: %s", job.command.queue, exc
                )
            else:
                self._control_failed(job.command, exc)
