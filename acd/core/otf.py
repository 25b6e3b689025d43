"""OTF ("on-time and full") and first-contact resolution: the code form of docs/kpis.md, "OTF and FCR".

One verdict per interaction (``verdict``), from its latest record, its queue's criteria and the first
repeat contact of the same customer (``repeat_contacts``). The reports' SQL
(``acd.records.report.otf_report``), the simulator (``acd.sim.report``) and the live series
(``OtfLedger`` beside the core, ``acd.metrics``) all follow these functions; the tests check they agree.

The repeat-contact part of "full" is known only once its window has passed, so a handled interaction's
verdict is *pending* until then: pending verdicts are in no numerator and no denominator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from typing import Protocol

from acd.core.config import QueueConfig
from acd.core.kpis import disposition_kind, handle_seconds, is_answered, is_offered, is_short_abandon
from acd.core.record_types import InteractionRecord

ORDER_KIND = "order"
"""The disposition kind of an order taken on a call: on time by its promise when the queue sets one."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One interaction's OTF verdict (docs/kpis.md, "OTF and FCR").

    ``settled`` False: pending (the call still open, or its repeat-contact window not over); then the
    other fields are what is known so far and count nowhere. ``handled``: answered, talk and wrap-up
    over (the FCR denominator). ``otf``: on time and full.
    """

    queue: str
    agent: str | None
    kind: str | None  # the disposition kind (None: no disposition, or not answered)
    settled: bool
    handled: bool
    on_time: bool
    full: bool

    @property
    def otf(self) -> bool:
        return self.on_time and self.full


class Contact(Protocol):
    """What the repeat check reads of an earlier contact: an interaction record, or the slim projection
    the live ledger keeps of one (``AnsweredCall``)."""

    @property
    def interaction_id(self) -> str: ...
    @property
    def linkedid(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def caller(self) -> str: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def ended_at(self) -> float | None: ...


def same_customer(a: Contact, b: Contact) -> bool:
    """The same customer (both known, equal) or the same calling number (not empty)."""
    if a.customer_id is not None and a.customer_id == b.customer_id:
        return True
    return a.caller != "" and a.caller == b.caller


def same_call(a: Contact, b: Contact) -> bool:
    """Two stays of one call (a transfer, a move, an overflow): one contact, never a repeat of itself."""
    return a.interaction_id == b.interaction_id or (a.linkedid != "" and a.linkedid == b.linkedid)


def is_repeat(first: Contact, later: InteractionRecord, window_seconds: float) -> bool:
    """``later`` is a repeat contact of ``first``: the same queue and customer, another call, arriving
    after ``first`` ended and at most ``window_seconds`` after that."""
    if first.ended_at is None or window_seconds <= 0:
        return False
    return (
        later.queue == first.queue
        and first.ended_at < later.arrived_at <= first.ended_at + window_seconds
        and same_customer(first, later)
        and not same_call(first, later)
    )


def repeat_contacts(
    records: Iterable[InteractionRecord], queues: Mapping[str, QueueConfig], now: float
) -> dict[str, float]:
    """The arrival of the first repeat contact (arrived by ``now``) of each answered interaction that has
    one, by interaction id. Records of every queue and every stay: any arrival counts as a contact."""
    by_queue: dict[str, list[InteractionRecord]] = {}
    for r in records:
        if r.arrived_at <= now:
            by_queue.setdefault(r.queue, []).append(r)
    found: dict[str, float] = {}
    for name, stays in by_queue.items():
        queue = queues.get(name)
        if queue is None or queue.otf.repeat_window_seconds <= 0:
            continue
        window = queue.otf.repeat_window_seconds
        by_key: dict[tuple[str, str], list[InteractionRecord]] = {}  # a customer's or a number's stays
        for r in sorted(stays, key=lambda r: r.arrived_at):
            if r.customer_id is not None:
                by_key.setdefault(("customer", r.customer_id), []).append(r)
            if r.caller != "":
                by_key.setdefault(("caller", r.caller), []).append(r)
        for first in stays:
            if not is_answered(first) or first.ended_at is None:
                continue
            candidates = by_key.get(("caller", first.caller), []) if first.caller != "" else []
            if first.customer_id is not None:
                candidates = candidates + by_key.get(("customer", first.customer_id), [])
            arrivals = [later.arrived_at for later in candidates if is_repeat(first, later, window)]
            if arrivals:
                found[first.interaction_id] = min(arrivals)
    return found


def closed_at(record: InteractionRecord) -> float | None:
    """When a handled interaction was closed: the end of its wrap-up."""
    if record.ended_at is None or record.wrapup_seconds is None:
        return None
    return record.ended_at + record.wrapup_seconds


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """What the verdict on an answered interaction and the repeat check on it read of its record
    (``of``): the live ledger keeps this instead of the record once the call is handled, as a handled
    call's verdict may stay pending for its whole repeat window (up to a day).

    ``answered_in_time``: waited no longer than the record's SLA threshold; ``handle``: talk + wrap-up;
    ``order_span``: from arrival to the end of wrap-up (the order promise); both None until handled."""

    interaction_id: str
    seq: int
    queue: str
    agent_id: str | None
    caller: str
    customer_id: str | None
    linkedid: str
    disposition: str | None
    ended_at: float | None
    answered_in_time: bool
    handle: float | None
    order_span: float | None

    @classmethod
    def of(cls, record: InteractionRecord) -> AnsweredCall:
        closed = closed_at(record)
        wait = record.wait_seconds if record.wait_seconds is not None else 0.0
        return cls(
            record.interaction_id,
            record.seq,
            record.queue,
            record.agent_id,
            record.caller,
            record.customer_id,
            record.linkedid,
            record.disposition,
            record.ended_at,
            wait <= record.sla_threshold_seconds,
            handle_seconds(record),
            None if closed is None else closed - record.arrived_at,
        )

    def verdict(self, queue: QueueConfig, *, repeat_at: float | None, now: float) -> Verdict:
        """The verdict as of ``now`` (``verdict`` of its record)."""
        return _answered_verdict(self, queue, repeat_at, now)


class _Answered(Protocol):
    """What the verdict on an answered call reads: an ``AnsweredCall``, or the ledger's flat copy of one."""

    @property
    def queue(self) -> str: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def disposition(self) -> str | None: ...
    @property
    def ended_at(self) -> float | None: ...
    @property
    def answered_in_time(self) -> bool: ...
    @property
    def handle(self) -> float | None: ...
    @property
    def order_span(self) -> float | None: ...


def _answered_verdict(call: _Answered, queue: QueueConfig, repeat_at: float | None, now: float) -> Verdict:
    criteria = queue.otf
    kind = disposition_kind(call.disposition)
    if kind == ORDER_KIND and criteria.order_promise_seconds is not None:
        on_time = call.order_span is not None and call.order_span <= criteria.order_promise_seconds
    else:
        on_time = (not criteria.answer or call.answered_in_time) and (
            not criteria.handle or (call.handle is not None and call.handle <= queue.max_handle_seconds)
        )
    window = criteria.repeat_window_seconds
    repeated = window > 0 and repeat_at is not None
    full = (not criteria.resolving or call.disposition in queue.resolving_dispositions) and not repeated
    handled = call.handle is not None
    settled = handled and call.ended_at is not None and call.ended_at + max(window, 0.0) <= now
    return Verdict(call.queue, call.agent_id, kind, settled, handled, on_time, full)


def verdict(
    record: InteractionRecord,
    queue: QueueConfig,
    *,
    short_abandon_seconds: float,
    repeat_at: float | None,
    now: float,
) -> Verdict | None:
    """The verdict on one interaction (its latest record) as of ``now``; None when OTF does not count it:
    not offered (still waiting, or moved to another queue) or a short abandon.

    ``repeat_at``: the arrival of its first repeat contact, if any (``repeat_contacts``)."""
    if not is_offered(record) or is_short_abandon(record, short_abandon_seconds):
        return None
    if not is_answered(record):  # abandoned, overflowed, failed: offered work not delivered
        return Verdict(record.queue, None, None, True, False, False, False)
    return AnsweredCall.of(record).verdict(queue, repeat_at=repeat_at, now=now)


def verdicts(
    records: Iterable[InteractionRecord],
    queues: Mapping[str, QueueConfig],
    *,
    short_abandon_seconds: float,
    now: float,
    context: Iterable[InteractionRecord] | None = None,
) -> list[Verdict]:
    """The verdicts of ``records`` (latest snapshots) as of ``now``. Repeat contacts are looked for in
    ``context`` (default: the records themselves), which may reach past a report's range."""
    chosen = list(records)
    repeats = repeat_contacts(chosen if context is None else context, queues, now)
    out = []
    for r in chosen:
        queue = queues.get(r.queue)
        if queue is None:
            continue
        v = verdict(
            r,
            queue,
            short_abandon_seconds=short_abandon_seconds,
            repeat_at=repeats.get(r.interaction_id),
            now=now,
        )
        if v is not None:
            out.append(v)
    return out


@dataclass(frozen=True, slots=True)
class OtfCount:
    """OTF over a set of verdicts: one queue, agent or (queue, disposition kind)."""

    settled: int  # verdicts settled: the OTF denominator
    on_time: int
    full: int
    otf: int  # on time and full
    handled: int  # settled handled interactions: the FCR denominator
    pending: int  # not settled yet (the call open or its repeat window not over): counted nowhere
    otf_ratio: float | None  # otf / settled
    fcr: float | None  # full / handled


def count(items: Iterable[Verdict]) -> OtfCount:
    settled = on_time = full = both = handled = pending = 0
    for v in items:
        if not v.settled:
            pending += 1
            continue
        settled += 1
        on_time += v.on_time
        full += v.full
        both += v.otf
        handled += v.handled
    return OtfCount(
        settled,
        on_time,
        full,
        both,
        handled,
        pending,
        both / settled if settled else None,
        full / handled if handled else None,
    )


@dataclass(frozen=True, slots=True)
class OtfRow:
    """One row of the OTF report: ``level`` "queue" (agent and kind None), "agent" (per agent over all
    queues; queue empty) or "kind" (per queue and disposition kind, handled calls only)."""

    level: str
    queue: str
    agent: str | None
    kind: str | None
    counts: OtfCount


def otf_rows(items: Iterable[Verdict]) -> list[OtfRow]:
    """Per queue, per agent (answered interactions) and per queue and disposition kind (handled ones)."""
    all_items = list(items)
    rows = []
    for q in sorted({v.queue for v in all_items}):
        rows.append(OtfRow("queue", q, None, None, count(v for v in all_items if v.queue == q)))
    for a in sorted({v.agent for v in all_items if v.agent is not None}):
        rows.append(OtfRow("agent", "", a, None, count(v for v in all_items if v.agent == a)))
    kinds = sorted({(v.queue, v.kind) for v in all_items if v.handled}, key=lambda k: (k[0], k[1] is None, k[1] or ""))
    for q, k in kinds:
        of_kind = (v for v in all_items if v.handled and v.queue == q and v.kind == k)
        rows.append(OtfRow("kind", q, None, k, count(of_kind)))
    return rows


class _Open:
    """A call in progress the ledger holds (not handled yet): its latest record, and the first repeat
    contact seen. Read as a ``Contact`` (the index) and ordered by ``ended_at`` (the settling heap)."""

    __slots__ = ("record", "repeat_at")

    def __init__(self, record: InteractionRecord, repeat_at: float | None) -> None:
        self.record = record
        self.repeat_at = repeat_at

    @property
    def interaction_id(self) -> str:
        return self.record.interaction_id

    @property
    def seq(self) -> int:
        return self.record.seq

    @property
    def linkedid(self) -> str:
        return self.record.linkedid

    @property
    def queue(self) -> str:
        return self.record.queue

    @property
    def caller(self) -> str:
        return self.record.caller

    @property
    def customer_id(self) -> str | None:
        return self.record.customer_id

    @property
    def ended_at(self) -> float | None:
        return self.record.ended_at

    @property
    def answered(self) -> bool:
        return self.record.answered_at is not None

    def __lt__(self, other: _Open | _Handled) -> bool:
        return _end(self) < _end(other)


class _Handled:
    """A handled call waiting for its repeat window, the ledger's bulk (up to a day of calls): the fields
    of its ``AnsweredCall`` flat in one object, the repeat contact beside them, the queue, agent and
    disposition shared with every other call's (``OtfLedger._name``). Ordered by ``ended_at`` (the
    settling heap)."""

    __slots__ = (
        "agent_id",
        "answered_in_time",
        "caller",
        "customer_id",
        "disposition",
        "ended_at",
        "handle",
        "interaction_id",
        "linkedid",
        "order_span",
        "queue",
        "repeat_at",
        "seq",
    )
    answered = True

    def __init__(self, call: AnsweredCall, repeat_at: float | None, name: Callable[[str], str]) -> None:
        self.interaction_id = call.interaction_id
        self.seq = call.seq
        self.queue = name(call.queue)
        self.agent_id = None if call.agent_id is None else name(call.agent_id)
        self.caller = call.caller
        self.customer_id = call.customer_id
        self.linkedid = call.linkedid
        self.disposition = None if call.disposition is None else name(call.disposition)
        self.ended_at = call.ended_at
        self.answered_in_time = call.answered_in_time
        self.handle = call.handle
        self.order_span = call.order_span
        self.repeat_at = repeat_at

    def __lt__(self, other: _Open | _Handled) -> bool:
        return _end(self) < _end(other)


_Held = _Open | _Handled


def _handled(record: InteractionRecord) -> bool:
    """Answered, talk and wrap-up over: its verdict is an ``AnsweredCall``'s whatever the settings."""
    return record.answered_at is not None and record.outcome != "abandoned" and handle_seconds(record) is not None


def _late(record: InteractionRecord, now: float, since: float) -> bool:
    """A snapshot of a call judged already, known by its own times (``LATE_SNAPSHOT_SECONDS``): closed
    while this ledger ran (``since``). A call closed before (ended while no ACD listened, closed by the
    resync at the end the PBX kept) is first seen now and counts."""
    closed = closed_at(record)
    return _handled(record) and closed is not None and since <= closed < now - LATE_SNAPSHOT_SECONDS


def _end(held: _Held) -> float:
    return -1.0 if held.ended_at is None else held.ended_at


def _settles_by_time(held: _Held) -> bool:
    """Whether the clock alone may settle it: handled (talk and wrap-up known) and ended; its moment is
    then ``ended_at`` + its queue's repeat window (``verdict``). Any other verdict changes only with a
    new snapshot or a new config."""
    if isinstance(held, _Handled):
        return held.ended_at is not None
    return held.record.ended_at is not None and handle_seconds(held.record) is not None


_Index = dict[str, dict[str, "_Held | list[_Held]"]]
"""Ended held calls by queue, then by calling number or customer id: one call, or a list of them."""

DONE_KEPT_SECONDS = 86400.0
"""How long a settled interaction's id is kept, so that a late snapshot (a disposition, a customer named:
the core takes them for as long as it remembers the call) is not judged again. A handled call's is kept
``LATE_SNAPSHOT_SECONDS`` only: after that its snapshots are known late by their own times."""

LATE_SNAPSHOT_SECONDS = 60.0
"""A handled call's snapshot first seen longer than this after its wrap-up ended is a late one of a call
judged already: by this ledger (which saw it arrive, and held it through its wrap-up and its repeat
window), or by the records (the ledger's ``seed``: a verdict settled before the start is theirs). A call
the ledger has not seen arrive (in progress at a start) is first seen at its answer or its end, within
this of the wrap-up's end; one closed before the ledger began (it ended while no ACD listened: the
resync closes it at the end the PBX kept) is no late copy, and counts when first seen. No such rule
for an unanswered call: one the PBX saw leave while no ACD ran is first seen long after it left
(``CallLeftUnseen``), and counts then."""

_COMPACT_AT = 1024
_COMPACT_SHARE = 0.5
"""Heap entries left behind (a call settled by a snapshot, or replaced by a later one): past
``_COMPACT_AT`` of them, and over ``_COMPACT_SHARE`` of all entries, the heaps are rebuilt."""


class OtfLedger:
    """The live side: fed every interaction record the core emits (``observe``) and the clock
    (``settle``), it hands back each verdict once, when it settles, for the live counters. The
    interactions it holds answered and not settled are the pending ones (``pending``).

    At start it is seeded with the verdicts the records hold pending (``seed``), so they settle live
    too; a repeat contact while no ACD ran is taken from the records then.

    A handled call may be held for its whole repeat window (up to a day: tens of thousands of calls), and
    the clock is fed every second, so nothing here reads them all but a new config: a handled call is
    held as one flat ``_Handled``; the ended ones are indexed by queue and customer, and by queue and
    number (``same_customer``), so an arrival looks up the contacts it may repeat; they wait in a heap
    per queue by ``ended_at`` (their moment is ``ended_at`` + the queue's window), so ``settle`` takes
    only those due; the pending ones are counted as they come and go."""

    __slots__ = (
        "_by_caller",
        "_by_customer",
        "_done",
        "_done_late",
        "_done_order",
        "_due",
        "_names",
        "_open",
        "_pending",
        "_queues",
        "_rescan",
        "_short_abandon_seconds",
        "_since",
        "_stale",
    )

    def __init__(self, queues: Mapping[str, QueueConfig], short_abandon_seconds: float) -> None:
        self._queues = queues
        self._short_abandon_seconds = short_abandon_seconds
        self._rescan = False  # a new config: the next ``settle`` judges every held call and rebuilds the heaps
        self._open: dict[str, _Held] = {}
        # settled id -> when it is forgotten: a day after it settled (``_done_order``, oldest first), or
        # for a handled call ``LATE_SNAPSHOT_SECONDS`` after its settling or its wrap-up (``_done_late``)
        self._done: dict[str, float] = {}
        self._done_order: deque[str] = deque()
        self._done_late: deque[str] = deque()
        self._by_caller: _Index = {}
        self._by_customer: _Index = {}
        # every held call ``_settles_by_time``, in its queue's heap by ``ended_at``; plus ``_stale`` left
        # behind (no longer held as that object): skipped when they come up
        self._due: dict[str, list[_Held]] = {}
        self._stale = 0
        self._pending: dict[str, int] = {}  # answered held calls per queue
        self._names: dict[str, str] = {}  # queue, agent and disposition names, one copy each
        self._since: float | None = None  # when this ledger began: its seed, or its first snapshot or tick

    @property
    def queues(self) -> Mapping[str, QueueConfig]:
        return self._queues

    @queues.setter
    def queues(self, queues: Mapping[str, QueueConfig]) -> None:
        self._queues = queues
        self._rescan = True

    @property
    def short_abandon_seconds(self) -> float:
        return self._short_abandon_seconds

    @short_abandon_seconds.setter
    def short_abandon_seconds(self, seconds: float) -> None:
        self._short_abandon_seconds = seconds
        self._rescan = True

    def observe(self, record: InteractionRecord, now: float) -> list[Verdict]:
        """Take a record snapshot; returns the verdicts it settles (an unanswered exit settles at once)."""
        rid = record.interaction_id
        if self._since is None:
            self._since = now
        if rid in self._done:
            return []
        held = self._open.get(rid)
        if held is None:
            if _late(record, now, self._since):
                return []
            self._arrival(record)
            self._hold(rid, self._held(record, None))
        elif record.seq >= held.seq:
            self._release(rid, held)
            self._hold(rid, self._held(record, held.repeat_at))
        return self.settle(now, only=rid)

    def _held(self, record: InteractionRecord, repeat_at: float | None) -> _Held:
        """What to hold of a snapshot: the flat projection once handled (answered, talk and wrap-up over:
        its verdict is an ``AnsweredCall``'s whatever the settings), the record until then."""
        if not _handled(record):
            return _Open(record, repeat_at)
        return _Handled(AnsweredCall.of(record), repeat_at, self._name)

    def _name(self, name: str) -> str:
        return self._names.setdefault(name, name)

    def _arrival(self, record: InteractionRecord) -> None:
        queue = self._queues.get(record.queue)
        if queue is None:
            return
        window = queue.otf.repeat_window_seconds
        for held in self._candidates(record):
            if held.repeat_at is None and is_repeat(held, record, window):
                held.repeat_at = record.arrived_at

    def _candidates(self, record: InteractionRecord) -> list[_Held]:
        """The held contacts ``record`` may repeat: the same queue, and its number or its customer."""
        found: list[_Held] = []
        if record.caller != "":
            _found(found, self._by_caller.get(record.queue, {}).get(record.caller))
        if record.customer_id is not None:
            _found(found, self._by_customer.get(record.queue, {}).get(record.customer_id))
        return found

    def _hold(self, rid: str, held: _Held) -> None:
        self._open[rid] = held
        if held.ended_at is not None:  # no repeat before the end (``is_repeat``)
            if held.caller != "":
                _add(self._by_caller, held.queue, held.caller, held)
            if held.customer_id is not None:
                _add(self._by_customer, held.queue, held.customer_id, held)
        if held.answered:
            self._pending[held.queue] = self._pending.get(held.queue, 0) + 1
        if _settles_by_time(held):
            heappush(self._due.setdefault(held.queue, []), held)

    def _release(self, rid: str, held: _Held, *, popped: bool = False) -> None:
        """No longer hold ``held`` (``popped``: just taken off its heap)."""
        del self._open[rid]
        if held.ended_at is not None:
            if held.caller != "":
                _remove(self._by_caller, held.queue, held.caller, held)
            if held.customer_id is not None:
                _remove(self._by_customer, held.queue, held.customer_id, held)
        if held.answered:
            left = self._pending[held.queue] - 1
            if left:
                self._pending[held.queue] = left
            else:
                del self._pending[held.queue]
        if not popped and _settles_by_time(held):
            self._stale += 1

    def _finish(self, rid: str, held: _Held, now: float, *, popped: bool = False) -> None:
        self._release(rid, held, popped=popped)
        if isinstance(held, _Handled) and held.handle is not None:
            # none of its snapshots is new after its wrap-up's end + LATE_SNAPSHOT_SECONDS (``_late``);
            # the end of talk + handle (talk and wrap-up) is past the wrap-up's end
            self._done[rid] = max(now, _end(held) + held.handle) + LATE_SNAPSHOT_SECONDS
            self._done_late.append(rid)
        else:
            self._done[rid] = now + DONE_KEPT_SECONDS
            self._done_order.append(rid)

    def settle(self, now: float, only: str | None = None) -> list[Verdict]:
        """The verdicts settled by ``now`` (of one interaction with ``only``); forgets them."""
        if self._since is None:
            self._since = now
        out: list[Verdict] = []
        if only is not None:
            self._judge(only, self._open[only], now, out)
            return out
        if self._rescan:
            for rid, held in list(self._open.items()):
                self._judge(rid, held, now, out)
            self._rebuild()
        else:
            self._settle_due(now, out)
        self._forget_done(now)
        return out

    def _settle_due(self, now: float, out: list[Verdict]) -> None:
        """Judge the held calls whose moment has come, each queue's heap in order of ``ended_at``."""
        for name in list(self._due):
            heap = self._due[name]
            queue = self._queues.get(name)
            if queue is None:  # only a new config removes a queue, and then ``_rescan`` judged them all
                continue
            window = max(queue.otf.repeat_window_seconds, 0.0)
            while heap and _end(heap[0]) + window <= now:
                held = heappop(heap)
                rid = held.interaction_id
                if self._open.get(rid) is not held:
                    self._stale -= 1
                    continue
                if not self._judge(rid, held, now, out, popped=True):
                    self._stale += 1  # off its heap, still held: its verdict waits for a snapshot now
            if not heap:
                del self._due[name]
        if self._stale > _COMPACT_AT and self._stale > _COMPACT_SHARE * sum(map(len, self._due.values())):
            self._rebuild()

    def _rebuild(self) -> None:
        """The heaps anew from the calls held (after a new config, or when mostly left-behind entries)."""
        self._due = {}
        for held in self._open.values():
            if _settles_by_time(held):
                self._due.setdefault(held.queue, []).append(held)
        for heap in self._due.values():
            heapify(heap)
        self._stale = 0
        self._rescan = False

    def _judge(self, rid: str, held: _Held, now: float, out: list[Verdict], *, popped: bool = False) -> bool:
        """Settle ``held`` if its verdict is settled at ``now`` (into ``out``), or forget it if it counts
        nowhere; True if it is no longer held."""
        queue = self._queues.get(held.queue)
        if queue is None:  # its queue was removed: no criteria to judge it by, counted nowhere live
            self._finish(rid, held, now, popped=popped)
            return True
        if isinstance(held, _Handled):
            v: Verdict | None = _answered_verdict(held, queue, held.repeat_at, now)
        else:
            v = verdict(
                held.record,
                queue,
                short_abandon_seconds=self._short_abandon_seconds,
                repeat_at=held.repeat_at,
                now=now,
            )
        if v is None:
            if isinstance(held, _Open) and held.record.outcome is not None and held.record.answered_at is None:
                self._finish(rid, held, now, popped=popped)  # moved (not offered here) or a short abandon
                return True
            return False
        if v.settled:
            out.append(v)
            self._finish(rid, held, now, popped=popped)
            return True
        return False

    def _forget_done(self, now: float) -> None:
        """Forget the ids whose time is over. Oldest first: the clock does not go back (if it did, or an
        id's time came before an older one's, an id would be kept longer, never forgotten sooner)."""
        done = self._done
        for order in (self._done_order, self._done_late):
            while order and done[order[0]] < now:
                del done[order.popleft()]

    def seed(self, records: Iterable[InteractionRecord], now: float) -> int:
        """Take back the verdicts a previous run left pending: the handled interactions among ``records``
        (the records' latest snapshots, the repeat windows still open at ``now`` and the arrivals since)
        whose verdict is not settled at ``now``, each with the first repeat contact the records hold.
        Those settle here and count live when their windows close; a verdict settled already is the
        records' alone (the previous run counted it, or it settled while no ACD ran). How many were taken."""
        if self._since is None:
            self._since = now
        chosen = list(records)
        repeats = repeat_contacts(chosen, self._queues, now)
        taken = 0
        for record in chosen:
            rid = record.interaction_id
            queue = self._queues.get(record.queue)
            if rid in self._open or rid in self._done or queue is None or handle_seconds(record) is None:
                continue
            v = verdict(
                record, queue, short_abandon_seconds=self._short_abandon_seconds, repeat_at=repeats.get(rid), now=now
            )
            if v is not None and not v.settled:
                self._hold(rid, self._held(record, repeats.get(rid)))
                taken += 1
        return taken

    def pending(self) -> dict[str, int]:
        """Answered interactions per queue whose verdict is not settled yet."""
        return dict(self._pending)

    def forget(self, rid: str) -> None:
        held = self._open.get(rid)
        if held is not None:
            self._release(rid, held)


def _found(into: list[_Held], entry: _Held | list[_Held] | None) -> None:
    if isinstance(entry, list):
        into += entry
    elif entry is not None:
        into.append(entry)


def _add(index: _Index, queue: str, key: str, held: _Held) -> None:
    by_key = index.setdefault(queue, {})
    entry = by_key.get(key)
    if entry is None:
        by_key[key] = held  # most numbers and customers have one call held: no list for them
    elif isinstance(entry, list):
        entry.append(held)
    else:
        by_key[key] = [entry, held]


def _remove(index: _Index, queue: str, key: str, held: _Held) -> None:
    by_key = index[queue]
    entry = by_key[key]
    if isinstance(entry, list):
        entry.remove(held)
        if len(entry) == 1:
            by_key[key] = entry[0]
        return
    del by_key[key]
    if not by_key:
        del index[queue]
