"""OTF ("on-time and full") and first-contact resolution: the code form of docs/kpis.md, "OTF and FCR".

One verdict per interaction (``verdict``), from its latest record, its queue's criteria and the first
repeat contact of the same customer (``repeat_contacts``). The reports' SQL
(``acd.records.report.otf_report``), the simulator (``acd.sim.report``) and the live series
(``OtfLedger`` beside the core, ``acd.metrics``) all follow these functions; the tests check they agree.

The repeat-contact part of "full" is known only once its window has passed, so a handled interaction's
verdict is *pending* until then: pending verdicts are in no numerator and no denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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


def same_customer(a: InteractionRecord, b: InteractionRecord) -> bool:
    """The same customer (both known, equal) or the same calling number (not empty)."""
    if a.customer_id is not None and a.customer_id == b.customer_id:
        return True
    return a.caller != "" and a.caller == b.caller


def same_call(a: InteractionRecord, b: InteractionRecord) -> bool:
    """Two stays of one call (a transfer, a move, an overflow): one contact, never a repeat of itself."""
    return a.interaction_id == b.interaction_id or (a.linkedid != "" and a.linkedid == b.linkedid)


def is_repeat(first: InteractionRecord, later: InteractionRecord, window_seconds: float) -> bool:
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
    criteria = queue.otf
    if not is_answered(record):  # abandoned, overflowed, failed: offered work not delivered
        return Verdict(record.queue, None, None, True, False, False, False)
    kind = disposition_kind(record.disposition)
    handle = handle_seconds(record)
    closed = closed_at(record)
    wait = record.wait_seconds if record.wait_seconds is not None else 0.0
    if kind == ORDER_KIND and criteria.order_promise_seconds is not None:
        on_time = closed is not None and closed - record.arrived_at <= criteria.order_promise_seconds
    else:
        on_time = (not criteria.answer or wait <= record.sla_threshold_seconds) and (
            not criteria.handle or (handle is not None and handle <= queue.max_handle_seconds)
        )
    window = criteria.repeat_window_seconds
    repeated = window > 0 and repeat_at is not None
    full = (not criteria.resolving or record.disposition in queue.resolving_dispositions) and not repeated
    settled = handle is not None and record.ended_at is not None and record.ended_at + max(window, 0.0) <= now
    return Verdict(record.queue, record.agent_id, kind, settled, handle is not None, on_time, full)


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


@dataclass(slots=True)
class _Open:
    record: InteractionRecord
    repeat_at: float | None = None


@dataclass(slots=True)
class OtfLedger:
    """The live side: fed every interaction record the core emits (``observe``) and the clock
    (``settle``), it hands back each verdict once, when it settles, for the live counters. The
    interactions it holds answered and not settled are the pending ones (``pending``).

    At start it is seeded with the verdicts the records hold pending (``seed``), so they settle live
    too; a repeat contact while no ACD ran is taken from the records then."""

    queues: Mapping[str, QueueConfig]
    short_abandon_seconds: float
    _open: dict[str, _Open] = field(default_factory=dict)
    _done: dict[str, float] = field(default_factory=dict)  # settled id -> when (forgotten a day later)

    def observe(self, record: InteractionRecord, now: float) -> list[Verdict]:
        """Take a record snapshot; returns the verdicts it settles (an unanswered exit settles at once)."""
        rid = record.interaction_id
        if rid in self._done:
            return []
        held = self._open.get(rid)
        if held is None:
            self._arrival(record)
            held = self._open[rid] = _Open(record)
        elif record.seq >= held.record.seq:
            held.record = record
        return self.settle(now, only=rid)

    def _arrival(self, record: InteractionRecord) -> None:
        queue = self.queues.get(record.queue)
        if queue is None:
            return
        window = queue.otf.repeat_window_seconds
        for held in self._open.values():
            if held.repeat_at is None and is_repeat(held.record, record, window):
                held.repeat_at = record.arrived_at

    def settle(self, now: float, only: str | None = None) -> list[Verdict]:
        """The verdicts settled by ``now`` (of one interaction with ``only``); forgets them."""
        out: list[Verdict] = []
        ids = [only] if only is not None else list(self._open)
        for rid in ids:
            held = self._open[rid]
            queue = self.queues.get(held.record.queue)
            record = held.record
            if queue is None:  # its queue was removed: no criteria to judge it by, counted nowhere live
                del self._open[rid]
                self._done[rid] = now
                continue
            if record.outcome == "moved" and record.answered_at is None:
                del self._open[rid]  # not offered here; counted nowhere
                self._done[rid] = now
                continue
            v = verdict(
                record, queue, short_abandon_seconds=self.short_abandon_seconds, repeat_at=held.repeat_at, now=now
            )
            if v is None:
                if record.outcome is not None and record.answered_at is None:  # a short abandon
                    del self._open[rid]
                    self._done[rid] = now
                continue
            if v.settled:
                out.append(v)
                del self._open[rid]
                self._done[rid] = now
        if only is None:
            for rid in [r for r, at in self._done.items() if at < now - 86400.0]:
                del self._done[rid]
        return out

    def seed(self, records: Iterable[InteractionRecord], now: float) -> int:
        """Take back the verdicts a previous run left pending: the handled interactions among ``records``
        (the records' latest snapshots, the repeat windows still open at ``now`` and the arrivals since)
        whose verdict is not settled at ``now``, each with the first repeat contact the records hold.
        Those settle here and count live when their windows close; a verdict settled already is the
        records' alone (the previous run counted it, or it settled while no ACD ran). How many were taken."""
        chosen = list(records)
        repeats = repeat_contacts(chosen, self.queues, now)
        taken = 0
        for record in chosen:
            rid = record.interaction_id
            queue = self.queues.get(record.queue)
            if rid in self._open or rid in self._done or queue is None or handle_seconds(record) is None:
                continue
            v = verdict(
                record, queue, short_abandon_seconds=self.short_abandon_seconds, repeat_at=repeats.get(rid), now=now
            )
            if v is not None and not v.settled:
                self._open[rid] = _Open(record, repeats.get(rid))
                taken += 1
        return taken

    def pending(self) -> dict[str, int]:
        """Answered interactions per queue whose verdict is not settled yet."""
        counts: dict[str, int] = {}
        for held in self._open.values():
            if held.record.answered_at is not None:
                counts[held.record.queue] = counts.get(held.record.queue, 0) + 1
        return counts

    def forget(self, rid: str) -> None:
        self._open.pop(rid, None)
