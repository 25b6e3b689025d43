"""Commands: what the core asks the outside world to do, as frozen data.

The runtime hands each command to its adapter (call control over AMI, records through the outbox,
metrics to Prometheus, timers to the event loop). Tests assert on lists of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from acd.core.record_types import Record
from acd.core.timers import TimerKey


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Offer a call to an agent: connect the caller's channel to the agent's endpoint."""

    offer_id: str
    call_id: str
    agent_id: str
    endpoint: str
    ring_timeout_seconds: float
    record: bool = False  # the queue records its calls: the dialplan starts MixMonitor on answer
    # a callback (acd.core.callbacks): the number to dial once the agent accepts; the caller has no
    # channel, so the agent is rung first (Originate into acd-callback, docs/dialplan.md "Callbacks")
    callback: str = ""
    queue: str = ""  # a callback's queue, named to the agent when they answer (docs/dialplan.md, "Callbacks")


@dataclass(frozen=True, slots=True)
class PublishNext:
    """Publish on the PBX the offer a caller entering ``queue`` with its defaults may claim there
    (acd.core.claims, docs/dialplan.md "Claims"): ``agent_id`` rung for ``ring_timeout_seconds``
    under ``offer_id``, replacing what the queue had published."""

    queue: str
    offer_id: str
    agent_id: str
    endpoint: str
    ring_timeout_seconds: float
    record: bool = False


@dataclass(frozen=True, slots=True)
class WithdrawNext:
    """Take back what ``queue`` published (its agent is no longer the next): no caller claims it after this
    lands on the PBX; a caller who claimed it before is reported by their ``AcdEnqueue``."""

    queue: str


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing the agent (the caller hung up, or the offer timed out)."""

    offer_id: str
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class OverflowCall:
    """Hand the caller to the dialplan's ``acd-overflow,<target>``; ``announcement`` (sound names
    joined by ``&``) is played first: a closed queue's announcement (docs/dialplan.md)."""

    call_id: str
    target: str
    reason: str = "max_wait"
    announcement: str = ""


@dataclass(frozen=True, slots=True)
class TagCall:
    """Write where a waiting call stands onto its channel (docs/dialplan.md: ``ACD_QUEUE``,
    ``ACD_PRIORITY``, ``ACD_ENQUEUED``), which is where a restarted ACD reads it back from.

    Sent when a supervisor moves the call to another queue or changes its priority; without it a
    restart would put the caller back in the queue, band and place the dialplan first gave it.
    ``priority`` is before the queue's VIP boost, as the dialplan's is; the boost is added again
    on arrival.
    """

    call_id: str
    queue: str
    priority: int
    enqueued_at: float
    # the caller's wait in earlier stays (``ACD_WAITED``): holding counts the caller's whole wait
    # from it (docs/dialplan.md, "The caller's wait so far")
    waited_before: float = 0.0
    # a new stay (moved, overflowed into a queue, handed over to a queue): no longer waiting for an agent
    # named by a transfer, so ``ACD_DIRECTED`` is cleared too, or a restarted ACD would offer the caller
    # to that agent alone again; a priority change keeps it
    new_stay: bool = False


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Have the agent's leg transfer the caller blind to a queue or an allowed outside number
    (docs/dialplan.md, "Transfers"): the PBX moves the caller into ``acd-transfer`` and reports it
    (``CallTransferred``, ``CallTransferredOut``)."""

    call_id: str
    agent_id: str
    endpoint: str
    queue: str  # empty for a number
    number: str = ""  # an outside number ([transfers] allowed_numbers), digits only
    target_endpoint: str = ""  # an agent's endpoint by name: the caller waits in ``queue`` for them first


@dataclass(frozen=True, slots=True)
class MonitorCall:
    """Join a supervisor's phone to an agent's conversation with ChanSpy (docs/dialplan.md,
    "Supervisor monitoring"): ring ``supervisor_endpoint`` (Originate into ``acd-monitor``), or,
    when the phone asked by feature code, send its waiting ``supervisor_channel`` there.

    The spied channel is the agent's leg of ``call_id``, found at the PBX (the caller's bridge
    peer) and checked to be ``PJSIP/<agent_endpoint>-...`` before anything is sent.
    """

    call_id: str
    agent_id: str
    agent_endpoint: str
    supervisor_endpoint: str
    mode: Literal["listen", "whisper", "barge"]
    supervisor_channel: str = ""
    pbx: str | None = None  # the PBX of the phone that asked (``MonitorRequested.pbx``): the call's own


@dataclass(frozen=True, slots=True)
class ConsultCall:
    """Have the agent's leg start an attended transfer (a consult leg) to the agent at
    ``target_endpoint`` (docs/dialplan.md, "Transfers"), or to the outside ``number`` (then
    ``target_endpoint`` is empty): the PBX reports ``ConsultStarted``. ``phone_leg``: the consult leg
    the agent's phone started for a queue (``*2`` then a queue's number), waiting to be told the agent
    the ACD picked: that leg is told ``target_endpoint`` and dials it; nothing else is sent."""

    call_id: str
    agent_id: str
    endpoint: str
    target_endpoint: str
    number: str = ""
    phone_leg: str = ""


@dataclass(frozen=True, slots=True)
class FinishConsult:
    """Complete (``complete``: the agent's leg leaves, Asterisk joins the caller and the consulted
    agent) or cancel (``cancel``: back to the caller) the agent's open consult leg."""

    call_id: str
    agent_id: str
    endpoint: str
    action: Literal["complete", "cancel"]


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Have holding offer the caller a callback once they have waited ``after_seconds`` in all
    (channel variable ``ACD_CALLBACK_AFTER``, docs/dialplan.md "Callbacks"); None: offer none."""

    call_id: str
    after_seconds: float | None


@dataclass(frozen=True, slots=True)
class KeepScheduledCallback:
    """Keep a callback the core scheduled (a closed queue's caller took one for its next opening)
    in the records, as the API keeps the ones it takes, so it survives a restart."""

    callback_id: str
    queue: str
    number: str
    at: float
    # the closed caller's call: told that the callback is kept (``ACD_CB_KEPT`` on their channel,
    # docs/dialplan.md "Closed queues") only once its row is in PostgreSQL
    call_id: str = ""
    # the queue's time zone (IANA name), in which the caller hears the time (``ACD_CB_ZONE``)
    zone: str = ""
    # the caller's own number (needs no pattern); else one they keyed in, checked against the patterns
    # again when a restart reads it back
    own: bool = False


@dataclass(frozen=True, slots=True)
class RefuseCallbackTime:
    """Tell a holding caller that the time they keyed for a callback is not taken (``ACD_CB_KEPT=0``
    on their channel, docs/dialplan.md "Callbacks at a time"): ``reason`` is ``malformed``, ``past``
    (a time the clocks skip that day), ``closed`` (the queue is closed then) or ``number`` (not a number
    it may call). Also a closed queue's caller who keyed a time (``ClosedCallbackAccepted``)."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CloseScheduledCallback:
    """A scheduled callback that will never enter its queue: its row is closed with ``reason``
    (``queue_removed``: its queue left the config; ``number_not_allowed``: its number is no longer one
    the admin's patterns allow) instead of staying pending (docs/api.md, "Scheduled callbacks")."""

    callback_id: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire ``TimerFired(key)`` at absolute time ``at``. Starting a key again replaces it."""

    key: TimerKey
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: TimerKey


@dataclass(frozen=True, slots=True)
class RecordCommand:
    """Write a record (through the durable outbox)."""

    record: Record


@dataclass(frozen=True, slots=True)
class MetricUpdate:
    """A change to a Prometheus series; ``name`` is one of ``metric_updates`` (see docs/kpis.md)."""

    name: str
    kind: Literal["inc", "observe", "set"]
    value: float
    labels: tuple[tuple[str, str], ...] = ()


ControlCommand = (
    RingAgent
    | CancelOffer
    | OverflowCall
    | TagCall
    | TransferCall
    | MonitorCall
    | ConsultCall
    | FinishConsult
    | OfferCallback
    | RefuseCallbackTime
)
"""The commands that move a caller (or join a supervisor to one): what call control
(``acd.ports.CallControl``) carries out."""

Command = (
    RingAgent
    | CancelOffer
    | OverflowCall
    | TagCall
    | TransferCall
    | MonitorCall
    | ConsultCall
    | FinishConsult
    | OfferCallback
    | RefuseCallbackTime
    | PublishNext
    | WithdrawNext
    | KeepScheduledCallback
    | CloseScheduledCallback
    | StartTimer
    | CancelTimer
    | RecordCommand
    | MetricUpdate
)
