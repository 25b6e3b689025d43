"""The OTF live ledger as it was before it held slim projections and indexed them: it keeps every held
interaction's full record and scans all of them on each arrival.

Kept as the oracle the new ledger (``acd.core.otf.OtfLedger``) is compared with, by the property test
(tests/unit/test_otf_ledger_agrees.py) and the benchmark (bench/bench_otf_ledger.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from acd.core.config import QueueConfig
from acd.core.kpis import disposition_kind, handle_seconds, is_answered, is_offered, is_short_abandon
from acd.core.otf import ORDER_KIND, Verdict, closed_at, repeat_contacts
from acd.core.record_types import InteractionRecord


# The verdict and the repeat check as they were, on full records.
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


@dataclass(slots=True)
class _Open:
    record: InteractionRecord
    repeat_at: float | None = None


@dataclass(slots=True)
class ScanLedger:
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
