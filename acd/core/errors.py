"""The errors the routing core raises, drawn once.

    AcdError                      every error the core raises; carries a stable ``error_id``
    ├── InvalidTransition         the event is not allowed in the subject's current state
    │   └── OfferClosed           an offer was answered after the core had already closed it
    ├── AlreadyInQueue            a caller was moved to the queue they are already in
    ├── OutOfScope                the requester may not act on that call's queue (a supervisor's)
    ├── NoAgentReady              an attended transfer to a queue none of whose agents is ready
    ├── InvalidValue              a field holds what the core cannot hold (NaN, out of range, NUL)
    └── UnknownEntity             the event names something the core does not know
        ├── UnknownQueue
        ├── UnknownAgent
        ├── UnknownCall
        └── UnknownOffer

``Acd.handle`` checks an event completely before it changes anything, so when it raises, the
core's state is exactly what it was before the call. The HTTP API maps ``error_id`` to its
error bodies; clients may rely on those ids.
"""

from __future__ import annotations

from typing import ClassVar


class AcdError(Exception):
    error_id: ClassVar[str] = "acd_error"


class InvalidTransition(AcdError):
    """``event`` cannot happen to ``subject`` (a call or agent id) while it is in ``state``."""

    error_id = "invalid_transition"

    def __init__(self, subject: str, state: str, event: str) -> None:
        super().__init__(f"{event} is not allowed for {subject} in state {state}")
        self.subject = subject
        self.state = state
        self.event = event


class OfferClosed(InvalidTransition):
    """The adapter reports an answer for an offer the core already closed (timed out, cancelled).

    The runtime must hang up the agent's leg: the caller is back in the queue or gone. Late
    *misses* (unanswered, rejected, failed) for a closed offer are harmless and ignored instead.
    """

    error_id = "offer_closed"


class AlreadyInQueue(AcdError):
    """``CallMoved`` names the queue the caller is in: refused rather than recorded as a move."""

    error_id = "already_in_queue"

    def __init__(self, call_id: str, queue: str) -> None:
        super().__init__(f"call {call_id} is already in queue {queue}")
        self.call_id = call_id
        self.queue = queue


class NoAgentReady(AcdError):
    """An attended transfer to ``queue``: the ACD picks no agent for the consult (none ready)."""

    error_id = "no_agent_ready"

    def __init__(self, queue: str) -> None:
        super().__init__(f"no agent of queue {queue} is ready to take a consult")
        self.queue = queue


class OutOfScope(AcdError):
    """The event's requester may act on some queues only, and ``call_id`` is in another."""

    error_id = "out_of_scope"

    def __init__(self, call_id: str, queue: str) -> None:
        super().__init__(f"call {call_id} is in queue {queue}, which this requester may not monitor")
        self.call_id = call_id
        self.queue = queue


class UnknownEntity(AcdError):
    error_id = "unknown_entity"
    kind: ClassVar[str] = "entity"

    def __init__(self, key: str) -> None:
        super().__init__(f"no such {self.kind}: {key}")
        self.key = key


class UnknownQueue(UnknownEntity):
    error_id = "unknown_queue"
    kind = "queue"


class UnknownAgent(UnknownEntity):
    error_id = "unknown_agent"
    kind = "agent"


class UnknownCall(UnknownEntity):
    error_id = "unknown_call"
    kind = "call"


class UnknownOffer(UnknownEntity):
    error_id = "unknown_offer"
    kind = "offer"


class InvalidValue(AcdError):
    """A field of the event holds a value the core cannot hold (NaN, infinity, out of range, NUL).

    Refused before anything changes: such a value would break the order of a routing index (a NaN
    key can never be found again) or a record PostgreSQL refuses.
    """

    error_id = "invalid_value"

    def __init__(self, event: str, field: str, problem: str) -> None:
        super().__init__(f"{event}.{field}: {problem}")
        self.event = event
        self.field = field
        self.problem = problem


class NumberNotAllowed(AcdError):
    """A transfer to an outside number no ``[transfers] allowed_numbers`` pattern allows."""

    error_id = "number_not_allowed"

    def __init__(self, number: str) -> None:
        super().__init__(f"transfers may not dial {number[:40]!r} (not in [transfers] allowed_numbers)")
        self.number = number
