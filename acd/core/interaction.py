"""A caller's stay in the ACD: the call's routing facts plus its ``InteractionRecord``.

Every change produces a fresh full record with ``seq`` one higher, which the core wraps in a
``RecordCommand``; the outbox upserts by interaction id and keeps the highest ``seq``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from acd.core.commands import TagCall
from acd.core.config import QueueConfig
from acd.core.events import CallArrived
from acd.core.ids import moved_leg_id, segment_id, transferred_leg_id
from acd.core.kpis import TRANSFERRED, within_sla
from acd.core.record_types import InteractionRecord, Outcome, SegmentKind, SegmentRecord, TransferKind
from acd.core.states import CallState

CallKey = tuple[int, float, float, str]  # (-priority, SLA deadline, enqueue time, call id)


def first_seq(now: float) -> int:
    """The first ``seq`` of an interaction: the arrival time in ms, times 1,000.

    A call keeps its id across an ACD restart (resync re-announces it), but the restarted core has
    forgotten the old ``seq``. Starting from the clock keeps every later snapshot above every earlier
    one (the outbox keeps the highest ``seq``), with room for 1,000 changes per millisecond.
    """
    return int(now * 1000) * 1000


@dataclass(slots=True)
class Call:
    call_id: str
    queue: QueueConfig  # the config in force; a removed queue's calls keep the old one
    priority: int
    enqueued_at: float
    record: InteractionRecord
    state: CallState = CallState.WAITING
    level: int = 0  # widening level
    attempts: int = 0  # offers made so far; part of each offer id
    offer_id: str | None = None  # the open offer while RINGING
    cooldowns: dict[str, float] = field(default_factory=dict)  # agent id -> no re-offer before
    vip: bool = False  # the queue's VIP boost is part of ``priority``
    # segments written so far (none until the call is first transferred), counted on from the records
    # after a restart (``CallArrived.segments``): a call with segments gets one for its last talk too
    segments: int = 0
    empty_deadline: float | None = None  # overflow then if nobody can serve the queue (acd.core.hours)
    # a callback (acd.core.callbacks): the number to call back (digits); empty while the caller holds
    callback: str = ""
    callback_tries: int = 0  # times the caller was dialled back so far
    callback_not_before: float = 0.0  # no try before then (the gap after an unreached try)
    callback_offer: str = ""  # the offer whose agent accepted the callback, while the caller is dialled
    callback_at: float | None = None  # when the caller took the callback (None: loaded back after a restart)
    # transferred to an agent by name: offered to that agent alone until ``directed_until``, then to
    # anyone eligible in its queue (docs/kpis.md, "Transfers"; ``Floor.directed``)
    directed_to: str = ""
    directed_until: float = 0.0
    # the caller's wait so far (docs/kpis.md, "The caller's wait so far"): seconds waited in the
    # call's earlier stays (their queue time, not their talk), carried into each new stay
    waited_before: float = 0.0
    # the PBX the caller is on (docs/pbxs.md): a resync of that PBX holds its matching
    pbx: str = "pbx"

    @property
    def key(self) -> CallKey:
        """Routing order: higher priority, then nearest SLA breach, then longest wait, then id."""
        deadline = self.enqueued_at + self.record.sla_threshold_seconds
        return (-self.priority, deadline, self.enqueued_at, self.call_id)

    @classmethod
    def arrive(cls, event: CallArrived, queue: QueueConfig, now: float) -> Call:
        enqueued_at = now if event.enqueued_at is None else event.enqueued_at
        customer = event.customer
        vip = customer is not None and customer.tier == "vip"
        priority = event.priority + (queue.vip_priority_boost if vip else 0)
        record = InteractionRecord(
            interaction_id=event.call_id,
            seq=first_seq(now),
            queue=queue.name,
            priority=priority,  # the priority routing used, boost included
            caller=event.caller,
            arrived_at=enqueued_at,
            uniqueid=event.uniqueid,
            linkedid=event.linkedid,
            customer_id=None if customer is None else customer.id,
            sla_threshold_seconds=queue.sla_threshold_seconds,
            first_arrived_at=enqueued_at if event.arrived_at is None else min(event.arrived_at, enqueued_at),
            pbx=event.pbx,
        )
        return cls(
            event.call_id,
            queue,
            priority,
            enqueued_at,
            record,
            vip=vip,
            segments=max(0, event.segments),
            waited_before=event.waited_before,
            pbx=event.pbx,
        )

    @classmethod
    def resume(
        cls, record: InteractionRecord, queue: QueueConfig, now: float, segments: int = 0, pbx: str = "pbx"
    ) -> Call:
        """A call the previous run recorded, taken up again from its record (customer, priority,
        disposition kept) and the number of its segments already written, on ``pbx`` (the PBX its
        caller is on); its next snapshot's ``seq`` is above every earlier one."""
        seq = max(record.seq, first_seq(now))
        return cls(
            record.interaction_id,
            queue,
            record.priority,
            record.arrived_at,
            dataclasses.replace(record, seq=seq),
            segments=max(0, segments),
            pbx=pbx,
        )

    @property
    def base_priority(self) -> int:
        """``priority`` without the queue's VIP boost: what the dialplan gives a caller."""
        return self.priority - (self.queue.vip_priority_boost if self.vip else 0)

    def tag(self, *, new_stay: bool = False) -> TagCall:
        """Where the call stands now, for its channel (see ``TagCall``; ``new_stay``: it has just
        entered another queue, directed to nobody)."""
        return TagCall(
            self.call_id, self.queue.name, self.base_priority, self.enqueued_at, self.waited_before, new_stay=new_stay
        )

    def waited(self, now: float) -> float:
        """Seconds in this stay: the new queue's clock (SL, ASA, max wait, widening)."""
        return now - self.enqueued_at

    def waited_in_all(self, now: float) -> float:
        """The caller's wait so far: every stay's queue time, this one's up to ``now`` (talk left out)."""
        return self.waited_before + self.waited(now)

    @property
    def first_arrived_at(self) -> float:
        """When the caller first entered the ACD (this stay's start for a call never moved on)."""
        first = self.record.first_arrived_at
        return self.enqueued_at if first is None else first

    def _update(self, **changes: Any) -> InteractionRecord:
        self.record = dataclasses.replace(self.record, seq=self.record.seq + 1, pbx=self.pbx, **changes)
        return self.record

    def answered(self, now: float, agent_id: str) -> InteractionRecord:
        wait = self.waited(now)
        return self._update(
            answered_at=now,
            agent_id=agent_id,
            wait_seconds=wait,
            within_sla=within_sla(wait, self.record.sla_threshold_seconds),
        )

    def left_queue(self, now: float, outcome: Outcome, reason: str) -> InteractionRecord:
        """Closed without an answer: abandoned, overflowed or failed."""
        return self._update(
            ended_at=now, outcome=outcome, wait_seconds=self.waited(now), within_sla=False, end_reason=reason
        )

    # -- callbacks (acd.core.callbacks; docs/kpis.md, "Callbacks") --------------------------------
    def callback_taken(self, keyed: str = "") -> InteractionRecord:
        """The caller took a callback: the record says so (end reason ``callback`` while it waits),
        with the number they keyed in instead of their own, if they did."""
        return self._update(end_reason="callback", callback_number=keyed)

    def callback_retry(self) -> InteractionRecord:
        """The caller was not reached: the try's answer is undone, the callback waits again."""
        return self._update(answered_at=None, agent_id=None, wait_seconds=None, within_sla=None)

    def callback_unreached(self, now: float, status: str) -> InteractionRecord:
        """The last try did not reach the caller: closed ``failed``, never an abandon."""
        return self._update(
            ended_at=now,
            outcome="failed",
            end_reason=f"callback_unreached_{status}"[:64],
            answered_at=None,
            wait_seconds=self.waited(now),
            within_sla=False,
        )

    def reclassify_short_abandon(self) -> InteractionRecord:
        """A short abandon is outside the SLA: ``within_sla`` is None, not False (same ``seq``)."""
        self.record = dataclasses.replace(self.record, within_sla=None)
        return self.record

    def talk_ended(self, now: float, reason: str, wrapup_seconds: float | None) -> InteractionRecord:
        """The conversation ended; ``wrapup_seconds`` is known now only when there is no wrap-up."""
        answered_at = self.record.answered_at
        assert answered_at is not None  # only a CONNECTED call talks
        return self._update(
            ended_at=now,
            outcome="answered",
            talk_seconds=now - answered_at,
            wrapup_seconds=wrapup_seconds,
            end_reason=reason,
        )

    def wrapup_ended(self, now: float) -> InteractionRecord:
        ended_at = self.record.ended_at
        assert ended_at is not None  # wrap-up follows the end of talk
        return self._update(wrapup_seconds=now - ended_at)

    def disposition(self, code: str, notes: str) -> InteractionRecord:
        return self._update(disposition=code, notes=notes)

    def identified(self, customer_id: str) -> InteractionRecord:
        return self._update(customer_id=customer_id)

    def reprioritized(self, priority: int) -> InteractionRecord:
        return self._update(priority=priority)

    def talk_segment(
        self, stay_id: str, ended_at: float, kind: TransferKind | None = None, target: str = ""
    ) -> SegmentRecord:
        """The segment of the talk now ending (the agent who answered this stay, from the answer to
        ``ended_at``), with how it ended: a transfer's kind and target, or nothing (a hang-up)."""
        answered_at, agent_id = self.record.answered_at, self.record.agent_id
        assert answered_at is not None and agent_id is not None  # only a CONNECTED call talks
        return self._segment("talk", stay_id, agent_id, answered_at, ended_at, kind, target)

    def transfer_to(self, queue: QueueConfig, now: float) -> InteractionRecord:
        """The agent transferred the caller to ``queue``: return the closed record of the stay that
        agent answered (outcome ``answered``, end reason ``transferred``, talk up to now, wrap-up to
        come), written under a new id (``ids.transferred_leg_id``); the call keeps its id and starts a
        new stay in ``queue`` with ``arrived_at = now``, as a moved call does (docs/kpis.md, "Transfers").
        """
        old = self.record
        answered_at = old.answered_at
        assert answered_at is not None  # only a CONNECTED call is transferred
        left = dataclasses.replace(
            old,
            interaction_id=transferred_leg_id(self.call_id, old.queue, now),
            seq=old.seq + 1,
            ended_at=now,
            outcome="answered",
            talk_seconds=now - answered_at,
            end_reason=TRANSFERRED,
        )
        self.waited_before += answered_at - self.enqueued_at  # the stay's queue time, not its talk
        self._start_stay(queue, now, old)
        return left

    def hand_over(self, agent_id: str, now: float, queue: QueueConfig | None = None) -> InteractionRecord:
        """An attended transfer to ``agent_id`` completed: return the closed record of the stay the
        transferring agent answered (as ``transfer_to``); the call starts a new stay in the same queue,
        answered now by ``agent_id``. It never waited in a queue, so it is outside the service level
        (``within_sla`` None; docs/kpis.md, "Transfers"). To ``queue`` (an attended transfer to a
        queue, whose agent the ACD picked): a new stay there, a transferred-in arrival answered at once,
        counted in that queue's SL as a queue transfer's stay is (wait 0 from the transfer)."""
        left = self.transfer_to(queue or self.queue, now)
        met = None if queue is None else within_sla(0.0, self.record.sla_threshold_seconds)
        self._update(answered_at=now, agent_id=agent_id, wait_seconds=0.0, within_sla=met)
        return left

    def consult_segment(
        self, stay_id: str, agent_id: str, started_at: float, ended_at: float, target: str = ""
    ) -> SegmentRecord:
        """A consult leg to ``agent_id`` (from ``started_at`` to ``ended_at``) during the stay
        ``stay_id``, kept on the call; a consult of an outside number is the consulting agent's, with
        ``target`` ``number:<n>``."""
        return self._segment("consult", stay_id, agent_id, started_at, ended_at, target=target)

    def _segment(
        self,
        kind: SegmentKind,
        stay_id: str,
        agent_id: str,
        started_at: float,
        ended_at: float,
        transfer_kind: TransferKind | None = None,
        target: str = "",
    ) -> SegmentRecord:
        """The call's next segment, written once, complete (docs/records.md, "Segments")."""
        self.segments += 1
        return SegmentRecord(
            segment_id=segment_id(self.call_id, stay_id, kind, agent_id, started_at),
            interaction_id=self.call_id,
            stay_id=stay_id,
            kind=kind,
            agent_id=agent_id,
            queue=self.queue.name,
            started_at=started_at,
            seq=1,
            ended_at=ended_at,
            transfer_kind=transfer_kind,
            transfer_target=target,
        )

    def _start_stay(self, queue: QueueConfig, now: float, old: InteractionRecord) -> None:
        self.priority = self.base_priority + (queue.vip_priority_boost if self.vip else 0)
        self.queue = queue
        self.enqueued_at = now
        self.empty_deadline = None
        self.level = 0
        self.record = InteractionRecord(
            interaction_id=self.call_id,
            seq=old.seq + 1,
            queue=queue.name,
            priority=self.priority,
            caller=old.caller,
            arrived_at=now,
            uniqueid=old.uniqueid,
            linkedid=old.linkedid,
            customer_id=old.customer_id,
            sla_threshold_seconds=queue.sla_threshold_seconds,
            # a pending callback moved to another queue is still one there (and loaded back as one)
            end_reason="callback" if self.callback else "",
            first_arrived_at=old.arrived_at if old.first_arrived_at is None else old.first_arrived_at,
            pbx=self.pbx,
        )

    def move_to(
        self, queue: QueueConfig, now: float, outcome: Outcome = "moved", reason: str = "moved"
    ) -> InteractionRecord:
        """Leave this queue for ``queue``: return the closed record of the stay here (outcome ``moved``).

        The stay in the old queue is written under a new id (``ids.moved_leg_id``); the call keeps
        its id, and its record starts afresh in ``queue`` with ``arrived_at = now``: a new arrival
        there, for routing order, widening, max wait and every KPI (docs/kpis.md, "Moved calls").
        The caller keeps their priority before the VIP boost; the new queue's boost applies.
        An overflow into another queue is the same move with ``outcome`` ``overflowed``: that stay is
        offered in the queue left, not within its SLA (docs/kpis.md, "Overflow into another queue").
        """
        old = self.record
        left = dataclasses.replace(
            old,
            interaction_id=moved_leg_id(self.call_id, old.queue, now),
            seq=old.seq + 1,
            ended_at=now,
            outcome=outcome,
            wait_seconds=self.waited(now),
            within_sla=None if outcome == "moved" else False,
            end_reason=reason,
        )
        self.waited_before += self.waited(now)
        self._start_stay(queue, now, old)
        return left
