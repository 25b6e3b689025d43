"""Events: everything that can happen to the ACD, as frozen data.

Adapters (AMI, HTTP, timers, the simulator) translate the outside world into these and hand them
to ``Acd.handle(event, now)``. Ids are strings: calls and offers carry UUIDs the ACD assigns,
agents carry their configured id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from acd.core.config import RoutingConfig
from acd.core.record_types import InteractionRecord
from acd.core.timers import TimerKey


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    tier: str = "standard"


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A caller entered a queue. ``enqueued_at`` is kept from an earlier enqueue (resync/re-queue)."""

    call_id: str
    queue: str
    priority: int
    caller: str = ""
    enqueued_at: float | None = None
    channel: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    customer: Customer | None = None
    # a pending callback a restarted ACD loads back (acd.core.callbacks): the number to call back;
    # the call waits in its place with no channel and never overflows at max wait
    callback: str = ""
    # segments the records already hold for the call (a call transferred before a restart, read back
    # by the restarted ACD): its later talks are segments too (docs/records.md, "Segments")
    segments: int = 0
    # a caller found in a later stay (resync: the channel's ACD_ARRIVED, ACD_WAITED): when the call
    # first entered the ACD, and the seconds it waited in its earlier stays (docs/kpis.md, "The
    # caller's wait so far"); None / 0: this stay is the first
    arrived_at: float | None = None
    waited_before: float = 0.0
    # a caller found waiting after a blind transfer to an agent by name (resync: the channel's
    # ACD_DIRECTED): that agent, offered the call alone until ``enqueued_at`` (the transfer) plus
    # ``[transfers] agent_wait``, then anyone eligible, as if the ACD had seen the transfer
    directed_to: str = ""
    # a caller found by a resync whose stay the previous run saw start (its open record): that run
    # judged it by the entry rules, so the estimated-wait limit is not applied again after the resync
    # (docs/kpis.md, "Estimated-wait diversion")
    judged: bool = False
    # the PBX the caller's channel is on (docs/pbxs.md): its commands go to that PBX's link, and a
    # resync of that PBX settles it; "pbx" is the one PBX of a deployment that configures one
    pbx: str = "pbx"
    # the offer the dialplan claimed for this caller as it entered ([routing] claim_on_pbx, acd.core.claims):
    # the one published for the queue, already ringing ``claimed_agent``; empty: no claim
    claimed_offer: str = ""
    claimed_agent: str = ""


@dataclass(frozen=True, slots=True)
class CallInProgress:
    """A caller found already talking to an agent when the ACD (re)started: a resync's finding.

    The core takes the call over as connected since ``answered_at`` (read from the channel), so
    that its end closes the interaction and the agent counts as on a call meanwhile. No offer and
    no answer are counted again: the run that answered the call counted them. With ``record`` (read
    back from the records), the call goes on from that record, keeping its customer, priority and
    disposition, instead of one rebuilt from ``call``.
    """

    call: CallArrived
    agent_id: str
    answered_at: float
    record: InteractionRecord | None = None  # the call's record as the previous run left it, if known


@dataclass(frozen=True, slots=True)
class CallLeftUnseen:
    """A caller the previous run had queued left while no ACD listened: a restarted ACD's finding.

    Read back from the PBX's trace of the caller's hangup (docs/dialplan.md): the call is closed
    at ``left_at`` (abandoned, or overflowed when holding's own fallback took the caller), and is
    never routed. ``call`` is the call as the records hold it (enqueue time, priority, customer).
    """

    call: CallArrived
    left_at: float
    outcome: Literal["abandoned", "overflowed"]
    reason: str


@dataclass(frozen=True, slots=True)
class CallbackQueueGone:
    """A pending callback the previous run held (its open record: end reason ``callback``, never
    answered) whose queue is no longer in the config when the ACD restarts: nobody can serve it, so
    the core closes its record ``overflowed`` with end reason ``queue_removed`` at once, as a config
    change would have overflowed it live (docs/kpis.md, "Callbacks"). ``record`` is the record as the
    records hold it (its enqueue, first arrival and SLA threshold are kept)."""

    record: InteractionRecord


@dataclass(frozen=True, slots=True)
class ResyncStarted:
    """A resync is about to load what it found on the PBX: route nothing until ``ResyncFinished``.

    Everything a resync finds (callers of every priority, calls in progress, calls that ended while
    the ACD was away, agents' reachability) goes in between the two, so the core matches free agents
    to the whole picture once, in routing order, instead of to whichever caller was loaded first.

    Scoped to one PBX (docs/pbxs.md, "Resync is scoped"): until that PBX's ``ResyncFinished`` its
    calls are not matched; the calls of the other PBXs are routed as ever.
    """

    pbx: str = "pbx"


@dataclass(frozen=True, slots=True)
class ResyncFinished:
    """The resync's findings are loaded: route once, and from now on after every event again."""

    pbx: str = "pbx"


@dataclass(frozen=True, slots=True)
class PbxLost:
    """The PBX ``pbx`` is lost (docs/pbxs.md, "A PBX dies"): its link went down at ``at`` and stayed
    down (or Kamailio's dispatcher probed it dead). Its channels died with it: every open call of
    that PBX closes at ``at`` (clamped to what the call allows, never after now) with end reason
    ``pbx_lost``, failed when it was not answered; an offer ringing for one of its callers fails with no
    miss for the agent; an agent talking to one of its callers goes to wrap-up. Later events of that
    PBX for these calls are refused as late events; a resync that finds one of its callers again takes
    them as a new stay. ``dials_callbacks``: ``pbx`` is the PBX callbacks are dialled on (the first
    one): a callback being dialled or talked to closes with it, and with no other PBX. ``callbacks``,
    when given, names instead the callbacks dialled through ``pbx`` (several PBXs: each callback is
    dialled through the first PBX whose link is up): those close with it, no other."""

    pbx: str
    at: float
    dials_callbacks: bool = False
    callbacks: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    call_id: str


@dataclass(frozen=True, slots=True)
class CallFellBack:
    """Holding sent the caller to the fallback by itself (``reason``: ``heartbeat``, the ACD looked
    dead; ``maxwait``, the dialplan's safety maximum wait). The call leaves its queue overflowed;
    the dialplan already moved the caller, so nothing is sent."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    """The agent answered the offer: now, or at ``answered_at`` when the answer was earlier than the
    event (an answer no ACD heard, read back from the PBX by a resync: ``SHARED(ACD_ANSWERED)`` or the
    ``acd_ended`` trace). The wait ends and the talk starts then (docs/dialplan.md, "Ends the ACD did not see")."""

    offer_id: str
    answered_at: float | None = None


@dataclass(frozen=True, slots=True)
class OfferRejected:
    """The agent declined or was busy."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class OfferUnanswered:
    """The agent's phone rang out."""

    offer_id: str


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The agent's phone could not be reached at all (unavailable, congestion).

    With ``reason`` ``NOT_STARTED`` the offer never reached the PBX (its Redirect was lost): the
    agent did nothing wrong, so the caller may be offered to them again at once.
    """

    offer_id: str
    reason: str = ""

    NOT_STARTED: ClassVar[str] = "not_started"


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An answered call's conversation ended (either side hung up).

    ``ended_at``: when it ended, if that was earlier than the event (a call that ended while the
    ACD was away, read back from the PBX's trace); None: now. The talk time and the agent's
    wrap-up count from it, so a wrap-up that has already run out ends at once.
    """

    call_id: str
    reason: str = "hangup"
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentPaused:
    agent_id: str
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class AgentResumed:
    agent_id: str


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentReachability:
    """SIP presence: the agent's phone is (un)reachable, or busy on a call the ACD did not place."""

    agent_id: str
    reachable: bool
    busy_elsewhere: bool = False


@dataclass(frozen=True, slots=True)
class DispositionSet:
    """An agent records a disposition code and notes on an interaction."""

    call_id: str
    code: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class CustomerIdentified:
    """An agent made or changed the customer record of the caller of a call they have or just had:
    the call's interaction names that customer from now on (``customer_id``: the record's id)."""

    call_id: str
    customer_id: str


@dataclass(frozen=True, slots=True)
class CallPriorityChanged:
    """A supervisor raised or lowered a queued caller's priority; the caller keeps their enqueue time."""

    call_id: str
    priority: int


@dataclass(frozen=True, slots=True)
class CallMoved:
    """A supervisor moved a queued caller to another queue (docs/kpis.md, "Moved calls").

    A ringing offer is withdrawn first (no miss for the agent); the caller leaves their queue, whose
    record closes with outcome ``moved``, and joins ``queue`` as a new arrival there.
    """

    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """Someone asked (through the REST API) that the agent talking to the caller transfer them blind
    to ``queue``. Nothing moves yet: the core checks the call is talking and the queue exists, and
    asks the PBX to carry it out (``TransferCall``); the PBX's word that it happened is
    ``CallTransferred``, the same as when the agent transfers from the phone."""

    call_id: str
    queue: str
    kind: Literal["blind"] = "blind"


@dataclass(frozen=True, slots=True)
class AgentTransferRequested:
    """As ``TransferRequested``, blind to the agent ``agent`` by name: the caller waits in the queue
    of the stay now talking, offered to that agent alone for a while (``CallTransferred.target_agent``).
    Refused for an agent not configured (``UnknownAgent``) or the agent on the call."""

    call_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class NumberTransferRequested:
    """As ``TransferRequested``, to an outside ``number`` (digits): refused unless one of the
    config's ``transfer_numbers`` patterns allows it (``NumberNotAllowed``)."""

    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallTransferredOut:
    """The agent transferred the caller blind to an allowed outside ``number``: the caller leaves the
    ACD (the stay closes answered, end reason ``transferred``) and the agent goes to wrap-up."""

    call_id: str
    agent_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """The agent talking to the caller transferred them blind to ``queue`` (docs/kpis.md, "Transfers").

    The agent's talk ends now and their wrap-up starts; the caller's stay in the queue the agent
    answered closes (answered, end reason ``transferred``) and they wait in ``queue`` as a new arrival.
    ``ended_at``: when, if earlier than the event (a transfer made while no ACD listened, read back
    from the PBX's trace); None: now. The talk, the wrap-up and the new stay count from it.
    With ``target_agent`` (a transfer to an agent by name) the new stay is offered to that agent alone
    for ``[transfers] agent_wait`` seconds, then to anyone eligible; at once when that agent is not
    logged in or not known.
    """

    call_id: str
    agent_id: str
    queue: str
    kind: Literal["blind"] = "blind"
    ended_at: float | None = None
    target_agent: str = ""


@dataclass(frozen=True, slots=True)
class MonitorRequested:
    """A supervisor asks to listen to, whisper to or barge into an agent's conversation.

    The call is named by ``call_id`` (the REST API) or by the agent on it (``agent_id``, a
    supervisor's phone dialling a feature code); exactly one of the two is set. ``queues`` are the
    queues the requester may monitor (None: every queue). ``supervisor_channel`` is the phone's own
    channel when it asked by feature code (it waits there to be joined); empty: ring the phone.
    Nothing changes in the core: the call and the agent go on as they were (docs/dialplan.md,
    "Supervisor monitoring").
    """

    supervisor_endpoint: str
    mode: Literal["listen", "whisper", "barge"]
    call_id: str | None = None
    agent_id: str | None = None
    queues: tuple[str, ...] | None = None  # sorted; a tuple, as every collection the core's events hold
    supervisor_channel: str = ""
    # with several PBXs, the PBX the phone asked on: a phone joins only a call on its own PBX (docs/pbxs.md)
    pbx: str | None = None


@dataclass(frozen=True, slots=True)
class ConsultRequested:
    """Someone asked (through the REST API) that the agent talking to the caller consult agent
    ``target`` before an attended transfer. Checked (the call talks, the target is another configured
    agent, ready) and handed to the PBX (``ConsultCall``); the PBX's word that the consult leg started
    is ``ConsultStarted``, the same as when the agent dials it from the phone.

    With ``for_queue`` (``target`` empty) the consult goes to the agent the ACD picks for that queue as for
    a routed arrival (``NoAgentReady`` when it has none); with ``number`` (``target`` empty) to an
    outside number the config's ``transfer_numbers`` allow (``NumberNotAllowed`` otherwise).

    ``phone_leg``: the agent asked from the phone (``*2`` then a queue's number, docs/dialplan.md
    "Transfers"): the consult leg already exists, waiting on that channel (a ``Local/`` channel) to be
    told which agent to dial; only with ``for_queue``, and then ``phone_agent`` is the agent who asked,
    who must be the one talking with the caller."""

    call_id: str
    target: str
    for_queue: str = ""
    number: str = ""
    phone_leg: str = ""
    phone_agent: str = ""


@dataclass(frozen=True, slots=True)
class ConsultFinishRequested:
    """Someone asked (through the REST API) that the open consult of the call end: ``complete`` (the
    caller goes to the consulted agent) or ``cancel`` (back to the caller). Handed to the PBX
    (``FinishConsult``); its word is ``CallHandedOver`` or ``ConsultEnded``."""

    call_id: str
    action: Literal["complete", "cancel"]


@dataclass(frozen=True, slots=True)
class ConsultStarted:
    """``agent_id``, talking to the caller ``call_id``, started a consult leg to the agent ``target``
    (an attended transfer's first half, docs/kpis.md "Transfers"): ``target`` is busy consulting from
    now and is offered no call; a ringing offer to them is withdrawn (no miss, the caller keeps their
    place). A consult of an outside ``number`` has ``target`` empty: no agent moves."""

    call_id: str
    agent_id: str
    target: str
    number: str = ""


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    """The consult leg from ``agent_id`` to ``target`` ended without a transfer (cancelled, refused or
    unanswered by ``target``, or either of them hung up): ``target`` is ready again and the consult is
    kept as a segment of kind ``consult``. ``agent_id`` still talks with the caller. ``number``: a
    consult of an outside number (``target`` empty)."""

    call_id: str
    agent_id: str
    target: str
    number: str = ""


@dataclass(frozen=True, slots=True)
class CallHandedOver:
    """``agent_id`` completed the attended transfer of the caller to ``target``, the agent they were
    consulting: ``agent_id``'s talk ends now (to wrap-up; segment transfer kind ``attended``, target
    ``agent:<target>``) and ``target`` talks with the caller from now on (a new stay in the same
    queue, answered now by ``target``; docs/kpis.md, "Transfers"). A consult that the ACD picked for a
    queue hands the caller over as a new stay in that queue. With ``number`` (``target`` empty) the
    caller was joined to that outside number and leaves the ACD (segment target ``number:<n>``).

    ``ended_at``: a handover no ACD saw (completed while it was down, found by a restarted ACD's
    resync: the caller talks with ``target``): when it happened, from the PBX's trace (None: now). No
    consult was seen open, so none is kept as a segment; ``target`` is taken over as on a call.
    """

    call_id: str
    agent_id: str
    target: str
    ended_at: float | None = None
    number: str = ""
    unseen: bool = False  # found by a resync: a handover no ACD saw, even with no time known (``ended_at`` None: now)


@dataclass(frozen=True, slots=True)
class CallbackAccepted:
    """A holding caller took the callback offered to them and hung up (docs/dialplan.md,
    "Callbacks"): the call keeps its place (queue, priority, enqueue time) with no channel, and is
    called back at ``number`` (digits: the number they called from) when an agent takes it."""

    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallbackCallerGone:
    """The caller who took callback ``call_id`` has hung up: they are no longer on the line saying
    their name or hearing when to expect the call (docs/dialplan.md, "Callbacks"), so the callback may
    now be offered to an agent (before: never, at most ``callbacks.ON_LINE_BOUND`` seconds)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallbackEnded:
    """The callback the agent of ``offer_id`` accepted dialled its caller: ``status`` is the
    ``DIALSTATUS`` of that leg (``ANSWER``: they talked, now over; else the caller was not reached)."""

    offer_id: str
    status: str


@dataclass(frozen=True, slots=True)
class CallbackScheduled:
    """Someone asked for a call at a time (docs/api.md, "Scheduled callbacks"): at ``at`` the
    callback enters ``queue`` as a call with id ``callback_id``, the queue's
    ``scheduled_callback_priority`` and no channel, and is called back at ``number`` (digits, one the
    ``[callbacks] allowed_numbers`` patterns allow) when an agent takes it. A time already past enters
    at once (the ACD was down at that time), its wait counted from ``at``."""

    callback_id: str
    queue: str
    number: str
    at: float
    own: bool = False  # the number a caller called from (a closed queue's callback): no pattern needed
    # read back from the records at a start (acd.restore): one the core can no longer take (its queue
    # removed, its number no longer allowed) is closed with that outcome (``CloseScheduledCallback``)
    # instead of being refused, so it does not stay pending for ever
    restored: bool = False


@dataclass(frozen=True, slots=True)
class ClosedCallbackAccepted:
    """A caller of a closed queue whose closed treatment is ``callback`` accepted to be called back
    when it opens (docs/dialplan.md, "Closed queues"), at ``number`` (the number they called from,
    or one they keyed in that the admin's patterns allow). The core schedules callback ``callback_id``
    for the queue's next opening (``KeepScheduledCallback``: the shell keeps it in PostgreSQL), or at
    ``time`` when they keyed one (``AcdClosedCallbackAt``: ``HHMM``, 24 h, in the queue's zone, today or
    tomorrow when today's is over; the core checks it against the hours and holidays, and a time
    refused is told to them, ``RefuseCallbackTime``, docs/dialplan.md "Callbacks at a time")."""

    call_id: str
    callback_id: str
    number: str
    time: str = ""


@dataclass(frozen=True, slots=True)
class CallbackTimeAsked:
    """A holding caller asked to be called back at a time they keyed (docs/dialplan.md, "Callbacks at
    a time"): ``time`` as keyed, ``HHMM`` (24 h, in the queue's zone: today's, or tomorrow's when today's is over;
    the core checks it), at
    ``number`` (the number they called from, or one they keyed in that the admin's patterns allow).
    Taken: callback ``callback_id`` is scheduled at that time (``KeepScheduledCallback``) and their stay
    ends once the dialplan says they were told (``CallbackTimeKept``); refused: they are told so
    (``RefuseCallbackTime``) and keep holding."""

    call_id: str
    callback_id: str
    number: str
    time: str


@dataclass(frozen=True, slots=True)
class CallbackTimeKept:
    """The holding caller of ``call_id`` heard that their callback at a time is kept (``AcdCallbackAtKept``:
    the dialplan saw ``ACD_CB_KEPT=1`` within its 5 s, docs/dialplan.md "Callbacks at a time"): their
    stay ends now (``overflowed``, end reason ``scheduled_callback``). Only for the callback
    ``callback_id`` their ``CallbackTimeAsked`` took and still waiting for this answer; else nothing."""

    call_id: str
    callback_id: str


@dataclass(frozen=True, slots=True)
class CallbackTimeNotKept:
    """The dialplan gave up waiting for the ACD to keep the time that holding caller keyed
    (``AcdCallbackAtNotKept``: no ``ACD_CB_KEPT`` within its 5 s): they are back in the music, told
    nothing. They never left their place; callback ``callback_id`` is closed ``not_kept``, whatever the
    shell confirms later (never both holding and called back). None waiting for an answer: nothing."""

    call_id: str
    callback_id: str


@dataclass(frozen=True, slots=True)
class ClosedCallbackNotKept:
    """The dialplan gave up waiting for the ACD to say that closed call ``call_id``'s callback is kept
    (``AcdClosedCallbackNotKept``: no ``ACD_CB_KEPT`` within its 5 s, docs/dialplan.md "Closed queues"),
    so the caller was told nothing and leaves a message instead. Callback ``callback_id`` (the one that
    caller's ``ClosedCallbackAccepted`` scheduled) is closed ``not_kept``: never both a message and a
    call back. It wins over a confirmation that comes later; none scheduled (never kept, closed
    already): nothing happens."""

    call_id: str
    callback_id: str


@dataclass(frozen=True, slots=True)
class ScheduledCallbackCancelled:
    """A scheduled callback that has not entered its queue yet is called off."""

    callback_id: str


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    config: RoutingConfig


@dataclass(frozen=True, slots=True)
class TimerFired:
    key: TimerKey


Event = (
    CallArrived
    | CallInProgress
    | CallLeftUnseen
    | CallbackQueueGone
    | ResyncStarted
    | ResyncFinished
    | PbxLost
    | CallerHungUp
    | CallFellBack
    | OfferAnswered
    | OfferRejected
    | OfferUnanswered
    | OfferFailed
    | CallEnded
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentResumed
    | WrapUpDone
    | AgentReachability
    | DispositionSet
    | CustomerIdentified
    | CallPriorityChanged
    | CallMoved
    | TransferRequested
    | AgentTransferRequested
    | NumberTransferRequested
    | CallTransferred
    | CallTransferredOut
    | MonitorRequested
    | ConsultRequested
    | ConsultFinishRequested
    | ConsultStarted
    | ConsultEnded
    | CallHandedOver
    | CallbackAccepted
    | CallbackCallerGone
    | CallbackEnded
    | CallbackScheduled
    | ClosedCallbackAccepted
    | CallbackTimeAsked
    | CallbackTimeKept
    | CallbackTimeNotKept
    | ClosedCallbackNotKept
    | ScheduledCallbackCancelled
    | ConfigChanged
    | TimerFired
)
