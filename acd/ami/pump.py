"""AMI events, in order, into the runtime; a resync after every (re)connect.

The pump is the one reader of the AMI link. On each connect it puts this run's event token in
force (the dialplan's events are refused until it is), asks Asterisk what is going on now
(``acd.ami.resync``) and hands that picture to the core in one piece; the first resync after a start
also closes the calls the previous run left open and the PBX saw end meanwhile (docs/dialplan.md,
"Ends the ACD did not see"). Between connects every event is translated, given its caller's
customer, and delivered to the one writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from prometheus_client import Counter, Gauge

from acd.ami.control import AmiCallControl
from acd.ami.ended_unseen import settle, with_records, with_segments
from acd.ami.fields import shown
from acd.ami.link import AmiLink, LinkDown, LinkItem, LinkUp, Resume
from acd.ami.resync import resync
from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.ami.wire import Message
from acd.core.events import (
    CallArrived,
    CallInProgress,
    CallLeftUnseen,
    Customer,
    Event,
    MonitorRequested,
    PbxLost,
    ResyncFinished,
    ResyncStarted,
)
from acd.core.record_types import InteractionRecord
from acd.log_throttle import LogThrottle

log = logging.getLogger("acd")

START_FIELD_MAX = 32  # CoreStartupDate / CoreStartupTime: "2026-12-08", "03:52:27"


def _start_field(value: str) -> bool:
    """A CoreStatus start date or time as Asterisk writes it: short, printable, no spaces."""
    return 0 < len(value) <= START_FIELD_MAX and value.isprintable() and " " not in value


class Writer(Protocol):
    """The one writer (``acd.runtime.Runtime``)."""

    def deliver(self, event: Event) -> bool: ...

    def submit(self, event: Event) -> bool: ...


class Directory(Protocol):
    """The caller directory (``acd.records.stores.customers.CustomerDirectory``)."""

    async def lookup(self, number: str) -> Customer | None: ...

    def known(self, number: str) -> tuple[bool, Customer | None]:
        """The customer when it is known without a query (held in memory): (True, it); else (False, None)."""
        ...


class PumpMetrics(Protocol):
    """The pump's two series (``acd.metrics.Metrics``)."""

    @property
    def ami_connected(self) -> Gauge: ...

    @property
    def ami_events(self) -> Counter: ...


class TokenKeeper:
    """This run's event token on the PBX: set on connect, kept alive by the heartbeat, lost with the link."""

    def __init__(self, control: AmiCallControl, token: EventToken) -> None:
        self._control = control
        self.token = token
        self.in_force = False

    async def put_in_force(self) -> None:
        """Set this run's token on the PBX; until it is, the dialplan's events are refused (``token``)."""
        try:
            await self._control.set_token(self.token, time.time())
        except Exception as exc:  # tried again with the next heartbeat
            log.error("could not set the event token on the PBX: %s; its events are refused until it is", exc)
            return
        self.in_force = True

    async def keep(self) -> None:
        """On every heartbeat: set the token if it is not in force yet, else keep it alive."""
        if not self.in_force:
            await self.put_in_force()
        else:
            with contextlib.suppress(Exception):
                await self._control.keep_token(self.token)

    def lost(self) -> None:
        self.in_force = False


@dataclasses.dataclass(eq=False)
class Pump:
    link: AmiLink
    control: AmiCallControl
    translator: Translator
    runtime: Writer
    metrics: PumpMetrics
    keeper: TokenKeeper
    customers: Directory | None = None
    # a supervisor's phone asking to monitor a call (feature code): answered and audited by its owner
    on_monitor: Callable[[MonitorRequested], None] | None = None
    # the PBX at the link's other end: acd_ami_connected's pbx label (docs/pbxs.md)
    pbx: str = "pbx"
    # several PBXs: the PBX's SystemName is checked on each connect (docs/pbxs.md)
    check_name: bool = False
    misconfigured_gauge: Gauge | None = None  # acd_pbx_misconfigured{pbx}
    # the call control's set of such PBXs (``PbxCallControl.misnamed``): no command goes to this one meanwhile
    misnamed: set[str] | None = None
    # its SystemName is not its name, or could not be read: none of its calls is routed until a
    # connect finds it right (``name_unread``: tried again at every heartbeat, ``recheck_name``)
    misconfigured: bool = dataclasses.field(default=False, init=False)
    # several PBXs: a link down this long loses the PBX (docs/pbxs.md, "A PBX dies"); None: never
    lost_after: float | None = None
    # the first PBX: callbacks are dialled on it (acd/ami/pbx_control.py), and close with its loss
    dials_callbacks: bool = False
    # several PBXs: the callbacks dialled through this PBX (``PbxCallControl.callbacks_on``), which
    # close with its loss instead of ``dials_callbacks``'s "all, on the first PBX"
    callbacks_on: Callable[[str], tuple[str, ...]] | None = None
    # when the link went down (wall clock), None while it is up or before it first came up
    down_at: float | None = dataclasses.field(default=None, init=False)
    lost: bool = dataclasses.field(default=False, init=False)  # lost since the link went down
    # several PBXs: the PBX's start time (CoreStatus) at its last connect; another at a connect means
    # it restarted and its calls before are gone (docs/pbxs.md, "A PBX returns"); None: not read yet
    started: str | None = dataclasses.field(default=None, init=False)
    # its connect checks (name, start time) are done on the link that is up: callbacks may be dialled on it
    ready: bool = dataclasses.field(default=False, init=False)
    # the down time (and whether it was lost) a connect follows, for ``_restarted``
    _was_down: tuple[float | None, bool] = dataclasses.field(default=(None, False), init=False)
    _lose_later: asyncio.TimerHandle | None = dataclasses.field(default=None, init=False)
    name_unread: bool = dataclasses.field(default=False, init=False)
    # this run's first resync handed to the core (``first_resyncs``); one under way meanwhile
    resynced: bool = dataclasses.field(default=False, init=False)
    resyncing: bool = dataclasses.field(default=False, init=False)
    # open interactions of the previous run, until the first resync
    left_open: list[InteractionRecord] = dataclasses.field(default_factory=list, init=False)
    # with the number of segments the records hold for each of those calls (call id -> count)
    left_segments: dict[str, int] = dataclasses.field(default_factory=dict, init=False)
    _seen: Counter | None = dataclasses.field(default=None, init=False)  # acd_ami_events{pbx}, once looked up
    # events whose handling failed (a bug): each logged (throttled) and dropped, the pump goes on
    failures: int = dataclasses.field(default=0, init=False)
    _quiet: LogThrottle = dataclasses.field(default_factory=lambda: LogThrottle(log), init=False)

    async def run(self) -> None:
        self.link.direct = self._take  # an event read while the pump waits is taken in the read itself
        try:
            await self._pump()
        finally:  # a pump that stops loses no PBX later
            self.stop()

    def stop(self) -> None:
        """Take nothing more in the link's read: called before the pump's task is cancelled, so a read
        that comes before the cancellation lands routes nothing."""
        self.link.direct = None
        self._cancel_lose()

    def _failed(self, what: object, exc: Exception) -> None:
        """One policy for both paths (in the read, in the pump's task): an event whose handling failed
        is logged, counted and dropped; the pump goes on with the next."""
        self.failures += 1
        self._quiet.log(
            logging.ERROR, type(exc).__name__, "AMI pump of %s: handling %r failed", self.pbx, what, exc_info=exc
        )

    def _take(self, msg: Message) -> None:
        """One event, handled inside the link's read while the pump waits for the next: the core decides
        and the ring is written in the same step, without a hop through the queue and a turn of the
        loop. What needs a wait (a customer not held in memory) goes on in the pump's task, in turn."""
        try:
            self._take_now(msg)
        except Exception as exc:
            self._failed(msg.get("Event", "?"), exc)

    def _take_now(self, msg: Message) -> None:
        self._count()
        self.control.observe(msg)
        if self.misconfigured:
            return
        events = self.translator.translate(msg, self.pbx)
        for index, event in enumerate(events):
            if isinstance(event, MonitorRequested) and self.on_monitor is not None:
                self.on_monitor(event)
                continue
            ready = self._with_customer_now(event)
            if ready is None:
                rest = events[index:]
                self.link.resume(functools.partial(self._deliver, rest))
                return
            self.runtime.deliver(ready)

    def _count(self) -> None:
        seen = self._seen
        if seen is None:  # looked up once: a label lookup costs more than the increment
            seen = self._seen = self.metrics.ami_events.labels(pbx=self.pbx)
        seen.inc()

    async def _deliver(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, MonitorRequested) and self.on_monitor is not None:
                self.on_monitor(event)
                continue
            self.runtime.deliver(await self.with_customer(event))

    async def _pump(self) -> None:
        async for item in self.link.events():
            try:
                await self._handle(item)
            except Exception as exc:
                self._failed(item.get("Event", "?") if isinstance(item, dict) else type(item).__name__, exc)

    async def _handle(self, item: LinkItem) -> None:
        if isinstance(item, Resume):
            await item.work()
        elif isinstance(item, LinkUp):
            self._up()
            await self._connected()
        elif isinstance(item, LinkDown):
            self.ready = False
            self.keeper.lost()
            self.metrics.ami_connected.labels(pbx=self.pbx).set(0)
            self.control.link_down()
            self._down()
            if self.lost_after is not None:  # several PBXs: its device states no longer count
                for change in self.translator.devices_gone(self.pbx):
                    self.runtime.deliver(change)
        else:
            self._count()
            self.control.observe(item)
            if not self.misconfigured:  # else not this PBX's calls to route (docs/pbxs.md)
                await self._deliver(self.translator.translate(item, self.pbx))

    def _down(self) -> None:
        """The link went down: with several PBXs, the PBX is lost if it stays down ``lost_after``."""
        if self.down_at is None:
            self.down_at = time.time()
        if self.lost_after is not None and self._lose_later is None:
            self._lose_later = asyncio.get_running_loop().call_later(self.lost_after, self.lose)

    def _cancel_lose(self) -> None:
        if self._lose_later is not None:
            self._lose_later.cancel()
            self._lose_later = None

    def _up(self) -> None:
        self._cancel_lose()
        if self.down_at is not None:  # a connect done again on a link that stayed up keeps the real down time
            self._was_down = (self.down_at, self.lost)
        self.down_at = None
        self.lost = False

    def lose(self) -> bool:
        """Declare the PBX lost (docs/pbxs.md, "A PBX dies"): its link is down, and has stayed down
        ``lost_after`` or Kamailio's dispatcher marks the PBX inactive. Its legs leave the book and the
        core closes its calls as at the moment the link went down (``PbxLost``). Once per time the link
        is down; False (nothing done) while the link is up, the PBX is lost already, or the runtime did
        not take the loss (it is stopping)."""
        self._cancel_lose()  # whoever loses it first: this down-time's timer never fires in a later one
        if self.down_at is None or self.lost:
            return False
        if not self.runtime.submit(self._loss(self.down_at)):
            return False
        self.lost = True
        log.error("PBX %s lost: its link has been down since %.3f; its calls close as pbx_lost", self.pbx, self.down_at)
        self.translator.forget_pbx(self.pbx)
        return True

    async def _connected(self) -> None:
        began = time.monotonic()
        self.metrics.ami_connected.labels(pbx=self.pbx).set(1)
        self.ready = False
        if self.check_name and not await self._named_right():
            return
        # several PBXs: a restarted PBX's calls are gone (docs/pbxs.md); only once its name is right
        if self.lost_after is not None:
            await self._restarted()
        self.ready = True
        with contextlib.suppress(Exception):  # at once: holding may be close to its limit
            await self.control.heartbeat(int(time.time()))
        # before the resync: a caller it finds raises events with this token from now on
        await self.keeper.put_in_force()
        fenced = time.monotonic()
        self.resyncing = True
        try:
            await self._resync(began, fenced)
        finally:
            self.resyncing = False

    async def _resync(self, began: float, fenced: float) -> None:
        try:
            picture = await resync(self.link)
        except Exception as exc:  # a failed resync is retried on the next connect
            log.error("resync failed: %s", exc)
            return
        read_at = time.monotonic()
        found = self.translator.reconcile(picture, self.pbx)
        left, self.left_open = self.left_open, []
        segments, self.left_segments = self.left_segments, {}
        roster = self.translator.roster
        found = settle(left, picture, roster) + with_records(found, left, picture, roster)
        found = [_on(e, self.pbx) for e in with_segments(found, segments)]
        loaded = await asyncio.gather(*(self.with_customer(e) for e in found))
        # All at once, with nothing else of ours in between: the core loads the whole
        # picture, then routes it once, by priority (not the first caller loaded first).
        self.runtime.submit(ResyncStarted(self.pbx))
        for event in loaded:
            self.runtime.submit(event)
        self.runtime.submit(ResyncFinished(self.pbx))
        self.resynced = True
        log.info(  # a takeover's steps, timed (docs/standby.md, "Margins")
            "resync of %s: %d found; heartbeat and token %.0f ms, resync %.0f ms, handed to the core %.0f ms",
            self.pbx,
            len(loaded),
            (fenced - began) * 1000,
            (read_at - fenced) * 1000,
            (time.monotonic() - read_at) * 1000,
        )

    async def _restarted(self) -> None:
        """A PBX that restarted since its last connect (its start time, ``CoreStatus``, is another) took
        every call it had with it: those not lost yet close as ``pbx_lost`` now, at the moment the link
        went down, before its resync (docs/pbxs.md, "A PBX returns"). A link back to the same living
        PBX, a start time that cannot be read, or this run's first connect: the resync settles its
        calls by their traces, as ever."""
        started = await self._start_time()
        before, self.started = self.started, started  # unread: the next read only takes a new baseline
        if started is None or before is None or started == before:
            return
        down_at, was_lost = self._was_down
        log.error(
            "PBX %s restarted (started %s, before %s): its calls before are gone",
            self.pbx,
            shown(started),
            shown(before),
        )
        if was_lost:  # closed already: never twice
            return
        at = down_at if down_at is not None else time.time()
        if self.runtime.submit(self._loss(at)):
            self.translator.forget_pbx(self.pbx)

    def _loss(self, at: float) -> PbxLost:
        callbacks = None if self.callbacks_on is None else self.callbacks_on(self.pbx)
        return PbxLost(self.pbx, at, self.dials_callbacks, callbacks)

    async def _start_time(self) -> str | None:
        """The PBX's start time, ``CoreStartupDate CoreStartupTime`` (``CoreStatus``); None when it
        could not be read."""
        try:
            reply = await self.link.send({"Action": "CoreStatus"})
        except Exception as exc:
            log.warning("PBX %s: CoreStatus failed: %s", self.pbx, exc)
            return None
        if not isinstance(reply, dict):
            return None
        date, clock = str(reply.get("CoreStartupDate", "")), str(reply.get("CoreStartupTime", ""))
        if not (_start_field(date) and _start_field(clock)):
            log.warning("PBX %s: CoreStatus start time %s %s unreadable", self.pbx, shown(date), shown(clock))
            return None
        return f"{date} {clock}"

    async def _named_right(self) -> bool:
        """Whether the PBX's ``SystemName`` (``CoreSettings``) is its configured name: with several PBXs
        its Uniqueids must say which PBX made them (docs/pbxs.md, "Calls are identified by PBX and
        channel"). While it is not, or cannot be read, none of its calls is routed and no command goes
        to it; a name that could not be read is read again at every heartbeat (``recheck_name``), a
        wrong one on the next connect (``systemname`` takes a restart of Asterisk)."""
        name = await self._system_name()
        self.name_unread = name is None
        self.misconfigured = name != self.pbx
        if name is None:
            log.error("PBX %s: its SystemName could not be read; none of its calls is routed until it is", self.pbx)
        elif self.misconfigured:
            log.error(
                "PBX %s: its SystemName is %r, not %r (asterisk.conf systemname); none of its calls is routed",
                self.pbx,
                name,
                self.pbx,
            )
        if self.misconfigured_gauge is not None:
            self.misconfigured_gauge.labels(pbx=self.pbx).set(1 if self.misconfigured else 0)
        if self.misnamed is not None:
            if self.misconfigured:
                self.misnamed.add(self.pbx)
            else:
                self.misnamed.discard(self.pbx)
        return not self.misconfigured

    async def _system_name(self) -> str | None:
        """The PBX's ``SystemName``; None when it could not be read."""
        try:
            reply = await self.link.send({"Action": "CoreSettings"})
        except Exception as exc:
            log.warning("PBX %s: CoreSettings failed: %s", self.pbx, exc)
            return None
        return reply.get("SystemName", "") if isinstance(reply, dict) else None

    async def recheck_name(self) -> None:
        """At a heartbeat, on a link that is up: a ``SystemName`` that could not be read is read again;
        once it can be, the connect is done again (``AmiLink.again``), name check, token and resync."""
        if not (self.check_name and self.name_unread and self.link.connected):
            return
        if await self._system_name() is not None:
            self.name_unread = False
            self.link.again()

    def _with_customer_now(self, event: Event) -> Event | None:
        """``with_customer`` without a wait: None when the customer is not held in memory (or the
        directory cannot say so: no ``known``, or it failed), so the pump's task looks it up."""
        if self.customers is None:
            return event
        if isinstance(event, CallArrived) and event.caller:
            known, customer = self._known(event.caller)
            return dataclasses.replace(event, customer=customer) if known else None
        if isinstance(event, CallInProgress) and event.call.caller:
            known, customer = self._known(event.call.caller)
            return (
                dataclasses.replace(event, call=dataclasses.replace(event.call, customer=customer)) if known else None
            )
        return event

    def _known(self, number: str) -> tuple[bool, Customer | None]:
        known = getattr(self.customers, "known", None)
        if known is None:
            return False, None
        try:
            return known(number)  # type: ignore[no-any-return]
        except Exception as exc:
            self._quiet.log(logging.WARNING, "known", "customer directory: known() failed: %r", exc)
            return False, None

    async def with_customer(self, event: Event) -> Event:
        """A caller's customer, looked up by number: for a new caller and for one a resync found.

        Bounded (0.2 s, and no wait at all once 32 lookups hang): routing never stalls on it.
        """
        if self.customers is None:
            return event
        if isinstance(event, CallArrived) and event.caller:
            return dataclasses.replace(event, customer=await self.customers.lookup(event.caller))
        if isinstance(event, CallInProgress) and event.call.caller:
            call = dataclasses.replace(event.call, customer=await self.customers.lookup(event.call.caller))
            return dataclasses.replace(event, call=call)
        return event


def _on(event: Event, pbx: str) -> Event:
    """A call the records gave back (a pending callback, a stay taken over from its record) on the PBX
    whose resync settles it, not on the default "pbx": its commands go there, that PBX's resync holds it."""
    if isinstance(event, CallArrived) and event.pbx != pbx:
        return dataclasses.replace(event, pbx=pbx)
    if isinstance(event, CallInProgress | CallLeftUnseen) and event.call.pbx != pbx:
        return dataclasses.replace(event, call=dataclasses.replace(event.call, pbx=pbx))
    return event


FIRST_RESYNC_DEADLINE_SECONDS = 10.0  # a PBX whose link is not up by then no longer holds the others


async def first_resyncs(pumps: Sequence[Pump], runtime: Writer, deadline: float | None = None) -> None:
    """At a start or takeover the core matches nothing until every PBX's first resync has ended
    (``Acd.hold_start``): an agent the records restore as ready may be talking on a PBX not read yet.
    A PBX whose link is not up (or whose first resync is not under way) ``deadline`` seconds after the
    start is released by a ``ResyncFinished`` of its own, so that it never blocks the others; its
    resync, when its link comes, holds its own calls as any (docs/pbxs.md, "A start with several PBXs")."""
    deadline = FIRST_RESYNC_DEADLINE_SECONDS if deadline is None else deadline
    await asyncio.sleep(deadline)
    waiting = [p for p in pumps if not p.resynced]
    while waiting:
        for pump in [p for p in waiting if not p.resyncing]:
            if not pump.resynced:
                log.warning(
                    "PBX %s: no resync within %.0f s of the start; the other PBXs' calls are routed", pump.pbx, deadline
                )
                runtime.submit(ResyncFinished(pump.pbx))
            waiting.remove(pump)
        if waiting:  # under way: its own ResyncFinished releases it, unless it fails
            await asyncio.sleep(0.5)


def share_left(pumps: Sequence[Pump], records: Iterable[InteractionRecord], segments: Mapping[str, int]) -> None:
    """The previous run's open interactions, each to the pump of its PBX, whose first resync settles it.

    With one PBX, all to its pump. With several, a record goes to the PBX its caller's ``Uniqueid``
    names (``<name>-...``, docs/pbxs.md); one naming none (a pending callback keeps no channel) to the
    first PBX's: a resync of one PBX never closes a call of another.
    """
    if not pumps:
        return
    shares: dict[str, list[InteractionRecord]] = {p.pbx: [] for p in pumps}
    first = pumps[0].pbx
    for record in records:
        owner = first
        if len(pumps) > 1:
            owner = next((p.pbx for p in pumps if record.uniqueid.startswith(f"{p.pbx}-")), first)
        shares[owner].append(record)
    for pump in pumps:
        pump.left_open = shares[pump.pbx]
        ids = {r.interaction_id for r in pump.left_open}
        pump.left_segments = {c: n for c, n in segments.items() if c in ids or pump.pbx == first}
