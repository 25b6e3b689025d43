"""KPI formulas over records: the code form of docs/kpis.md.

The simulator, the reports and the tests all compute service level, ASA, AHT, abandonment rate,
occupancy, max wait and handle-time breaches here, so a definition lives in code exactly once.
Every function takes the *latest* snapshot of each record (see ``latest``); feeding it several
snapshots of one interaction would count that interaction several times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from acd.core.record_types import AgentStateName, AgentStateRecord, InteractionRecord, OfferRecord

R = TypeVar("R", InteractionRecord, OfferRecord, AgentStateRecord)

# Occupancy: productive states over productive + available ones (docs/kpis.md, "Occupancy").
PRODUCTIVE_STATES: frozenset[AgentStateName] = frozenset({"on_call", "wrap_up"})
AVAILABLE_STATES: frozenset[AgentStateName] = frozenset({"ready", "reserved"})


def _record_key(record: InteractionRecord | OfferRecord | AgentStateRecord) -> str:
    if isinstance(record, InteractionRecord):
        return record.interaction_id
    if isinstance(record, OfferRecord):
        return record.offer_id
    return record.interval_id


TRANSFERRED = "transferred"
"""The ``end_reason`` of a stay whose agent transferred the caller on."""


CALLBACK = "callback"
"""The ``end_reason`` of a callback: while it waits in its place, and once its caller was reached and
the conversation is over (acd.core.callbacks); one never reached ends ``callback_unreached_<status>``."""
CALLBACK_UNREACHED = "callback_unreached"


def is_callback(record: InteractionRecord) -> bool:
    """The caller took a callback in this stay (docs/kpis.md, "Callbacks"): waiting, reached or not."""
    reason = record.end_reason or ""
    return reason == CALLBACK or reason.startswith(CALLBACK_UNREACHED)


def is_callback_completed(record: InteractionRecord) -> bool:
    """A callback whose caller was reached, the conversation over."""
    return record.outcome == "answered" and record.end_reason == CALLBACK


def is_callback_failed(record: InteractionRecord) -> bool:
    """A callback closed ``failed``: its caller not reached on the last try."""
    return record.outcome == "failed" and (record.end_reason or "").startswith(CALLBACK_UNREACHED)


def latest(records: Iterable[R]) -> list[R]:
    """Keep the highest-``seq`` snapshot of each record, in order of first appearance."""
    best: dict[str, R] = {}
    for record in records:
        key = _record_key(record)
        held = best.get(key)
        if held is None or record.seq > held.seq:
            best[key] = record
    return list(best.values())


def within_sla(wait_seconds: float, sla_threshold_seconds: float) -> bool:
    """An answered call meets the SLA when its wait is at most T (inclusive)."""
    return wait_seconds <= sla_threshold_seconds


def is_short_abandon(record: InteractionRecord, short_abandon_seconds: float) -> bool:
    """An abandon with a wait strictly below S: left out of SL and abandonment rate."""
    return (
        record.outcome == "abandoned"
        and record.wait_seconds is not None
        and record.wait_seconds < short_abandon_seconds
    )


def is_moved(record: InteractionRecord) -> bool:
    """The caller left this queue for another one: not offered here (docs/kpis.md, "Moved calls")."""
    return record.answered_at is None and record.outcome == "moved"


def is_arrival(record: InteractionRecord) -> bool:
    """This stay is an arrival in its queue (docs/kpis.md, "arrival"): every stay but the one an
    attended transfer to an agent hands over (answered at once, never queued: ``within_sla`` None)."""
    return not (record.answered_at is not None and record.within_sla is None)


def is_transferred(record: InteractionRecord) -> bool:
    """The agent who answered this stay transferred the caller on (docs/kpis.md, "Transfers")."""
    return record.answered_at is not None and record.end_reason == TRANSFERRED


def is_offered(record: InteractionRecord) -> bool:
    """The call has left the queue: answered, or closed with an outcome other than ``moved``."""
    return record.answered_at is not None or (record.outcome is not None and not is_moved(record))


def is_answered(record: InteractionRecord) -> bool:
    return record.answered_at is not None


def wait_breached(wait_seconds: float, max_wait_seconds: float) -> bool:
    """The caller reached the queue's maximum wait; equal counts (that is the moment the ACD acts)."""
    return wait_seconds >= max_wait_seconds


def handle_breached(handle: float, max_handle_seconds: float) -> bool:
    """Talk + wrap-up above the queue's maximum handle time; equal is not a breach."""
    return handle > max_handle_seconds


def handle_seconds(record: InteractionRecord) -> float | None:
    """Talk + wrap-up, once both are known; None before that."""
    if record.talk_seconds is None or record.wrapup_seconds is None:
        return None
    return record.talk_seconds + record.wrapup_seconds


@dataclass(frozen=True, slots=True)
class QueueKpis:
    """Counts and ratios for one set of interactions (usually one queue over one interval)."""

    offered: int
    answered: int
    answered_within_sla: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    failed: int
    handled: int
    handle_breaches: int
    service_level: float | None
    asa: float | None
    aht: float | None
    abandonment_rate: float | None
    max_wait: float | None
    handle_breach_rate: float | None
    wait_breaches: int = 0
    moved: int = 0  # left for another queue; not part of ``offered``
    transferred: int = 0  # answered stays the agent transferred on; part of ``answered``
    transfer_rate: float | None = None  # transferred / answered
    callbacks: int = 0  # stays whose caller took a callback (still waiting ones included); never abandons
    callbacks_completed: int = 0  # of those, the caller reached and the conversation over (answered)
    callbacks_failed: int = 0  # of those, closed failed: the caller not reached on the last try
    callback_rate: float | None = None  # (callbacks completed + failed) / offered
    arrivals: int = 0  # stays that are arrivals (docs/kpis.md, "arrival"): the forecast's λ, over the interval


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def queue_kpis(
    interactions: Iterable[InteractionRecord],
    *,
    short_abandon_seconds: float,
    max_handle_seconds: float | None = None,
    max_wait_seconds: float | None = None,
) -> QueueKpis:
    """All queue KPIs of docs/kpis.md in one pass over the latest interaction snapshots."""
    offered = answered = met = abandoned = short = overflowed = failed = handled = breaches = 0
    wait_answered = 0.0
    handle_total = 0.0
    max_wait: float | None = None
    wait_breaches = moved = transferred = callbacks = completed = callbacks_failed = arrivals = 0
    for record in interactions:
        arrivals += is_arrival(record)
        if is_moved(record):
            moved += 1
        if is_callback(record):
            callbacks += 1
            completed += is_callback_completed(record)
            callbacks_failed += is_callback_failed(record)
        if not is_offered(record):
            continue
        offered += 1
        wait = record.wait_seconds
        if wait is not None and (max_wait is None or wait > max_wait):
            max_wait = wait
        if wait is not None and max_wait_seconds is not None and wait_breached(wait, max_wait_seconds):
            wait_breaches += 1
        if is_answered(record):
            answered += 1
            transferred += is_transferred(record)
            assert wait is not None  # an answered record always carries its wait
            wait_answered += wait
            if within_sla(wait, record.sla_threshold_seconds):
                met += 1
            handle = handle_seconds(record)
            if handle is not None:
                handled += 1
                handle_total += handle
                if max_handle_seconds is not None and handle_breached(handle, max_handle_seconds):
                    breaches += 1
        elif record.outcome == "abandoned":
            abandoned += 1
            if is_short_abandon(record, short_abandon_seconds):
                short += 1
        elif record.outcome == "overflowed":
            overflowed += 1
        elif record.outcome == "failed":
            failed += 1
    base = offered - short
    return QueueKpis(
        offered=offered,
        answered=answered,
        answered_within_sla=met,
        abandoned=abandoned,
        short_abandoned=short,
        overflowed=overflowed,
        failed=failed,
        handled=handled,
        handle_breaches=breaches,
        service_level=_ratio(met, base),
        asa=_ratio(wait_answered, answered),
        aht=_ratio(handle_total, handled),
        abandonment_rate=_ratio(abandoned - short, base),
        max_wait=max_wait,
        handle_breach_rate=_ratio(breaches, handled) if max_handle_seconds is not None else None,
        wait_breaches=wait_breaches,
        moved=moved,
        transferred=transferred,
        transfer_rate=_ratio(transferred, answered),
        callbacks=callbacks,
        callbacks_completed=completed,
        callbacks_failed=callbacks_failed,
        callback_rate=_ratio(completed + callbacks_failed, offered),
        arrivals=arrivals,
    )


def service_level(interactions: Iterable[InteractionRecord], short_abandon_seconds: float) -> float | None:
    """Answered within T / (offered - short abandons)."""
    return queue_kpis(interactions, short_abandon_seconds=short_abandon_seconds).service_level


def asa(interactions: Iterable[InteractionRecord]) -> float | None:
    """Mean wait of answered calls, from first enqueue to answer."""
    return queue_kpis(interactions, short_abandon_seconds=0.0).asa


def aht(interactions: Iterable[InteractionRecord]) -> float | None:
    """Mean talk + wrap-up of handled calls."""
    return queue_kpis(interactions, short_abandon_seconds=0.0).aht


def disposition_kind(code: str | None) -> str | None:
    """The kind of a disposition code: the part before the first ``/`` (a code without one, such as a
    phone's digit code, is its own kind); None for a call with no disposition."""
    return None if code is None else code.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class DispositionCount:
    """Handled calls of one queue with one disposition kind (``code`` None) or one code."""

    queue: str
    kind: str | None  # None: handled with no disposition
    code: str | None  # None on a kind's row (every code of the kind); on a code row, None only with kind
    level: str  # "kind" or "code"
    calls: int
    share: float  # of the queue's handled calls


def dispositions(interactions: Iterable[InteractionRecord]) -> list[DispositionCount]:
    """Handled calls per queue, per disposition kind and per code, with their share of the queue's handled
    calls (docs/kpis.md, "Dispositions"); by queue, kind, the kind's row first, then code (None last)."""
    handled = [r for r in interactions if is_answered(r) and handle_seconds(r) is not None]
    totals: dict[str, int] = {}
    kinds: dict[tuple[str, str | None], int] = {}
    codes: dict[tuple[str, str | None, str | None], int] = {}
    for r in handled:
        kind = disposition_kind(r.disposition)
        totals[r.queue] = totals.get(r.queue, 0) + 1
        kinds[r.queue, kind] = kinds.get((r.queue, kind), 0) + 1
        codes[r.queue, kind, r.disposition] = codes.get((r.queue, kind, r.disposition), 0) + 1
    rows = [DispositionCount(q, k, None, "kind", n, n / totals[q]) for (q, k), n in kinds.items()]
    rows += [DispositionCount(q, k, c, "code", n, n / totals[q]) for (q, k, c), n in codes.items()]

    def order(row: DispositionCount) -> tuple[str, bool, str, bool, bool, str]:
        return (row.queue, row.kind is None, row.kind or "", row.level == "code", row.code is None, row.code or "")

    return sorted(rows, key=order)


def abandonment_rate(interactions: Iterable[InteractionRecord], short_abandon_seconds: float) -> float | None:
    """(Abandoned - short abandons) / (offered - short abandons)."""
    return queue_kpis(interactions, short_abandon_seconds=short_abandon_seconds).abandonment_rate


def state_seconds(intervals: Iterable[AgentStateRecord], start: float, end: float) -> dict[AgentStateName, float]:
    """Seconds spent in each state within [start, end]; open intervals run to ``end``."""
    totals: dict[AgentStateName, float] = {}
    for interval in intervals:
        stop = end if interval.ended_at is None else min(interval.ended_at, end)
        length = stop - max(interval.started_at, start)
        if length > 0:
            totals[interval.state] = totals.get(interval.state, 0.0) + length
    return totals


def occupancy(intervals: Iterable[AgentStateRecord], start: float, end: float) -> float | None:
    """(on_call + wrap_up) / (on_call + wrap_up + ready + reserved) within [start, end]."""
    totals = state_seconds(intervals, start, end)
    busy = sum(totals.get(s, 0.0) for s in PRODUCTIVE_STATES)
    available = sum(totals.get(s, 0.0) for s in AVAILABLE_STATES)
    return _ratio(busy, busy + available)
