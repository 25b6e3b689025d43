"""The runtime's ports: what it needs from the outside world, each as a narrow protocol.

The runtime feeds the core and hands each command to one of these; the adapters behind them (call
control over AMI in ``acd.ami.control``, the durable outbox, Prometheus, the forecaster, the
wallboard's tally) are chosen where the ACD is put together (``acd.bootstrap``), so tests and
benches can hand in their own. ``MockControl`` is call control for a runtime with no PBX behind it,
shipped beside the port it stands in for (as an HTTP client ships its mock transport), because the
tests and the benches all need the same one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, Protocol

from acd.core.commands import ControlCommand, MetricUpdate, PublishNext, WithdrawNext
from acd.core.record_types import Record

__all__ = ["CallControl", "ControlCommand", "MetricSink", "MockControl", "NotCarriedOut", "RecordSink"]


class CallControl(Protocol):
    """What the runtime needs from the PBX: carry out the commands that move callers.

    ``send`` writes the command's actions before it returns, or raises if it cannot; what it returns
    is the wait for the PBX's replies, which raises the first refusal. ``rest`` is the rest of the
    same decision's call control, in order: the adapter may leave out a command that a later one
    makes needless (a cancel the next Redirect of the same caller does anyway). A failure of a ring,
    raised either way, reaches the core as ``OfferFailed`` with the exception's text as its reason.
    """

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]: ...

    def publish(self, command: PublishNext | WithdrawNext) -> Awaitable[None]:
        """Write or clear a queue's published offer on the PBX (claims, docs/dialplan.md "Claims")."""
        ...


class NotCarriedOut(Exception):
    """Call control did not carry out a command; the message is the reason the core is told (one line)."""


class RecordSink(Protocol):
    """Where records go (the durable outbox). ``append`` must be fast and never wait on PostgreSQL."""

    def append(self, record: Record) -> None: ...


class MetricSink(Protocol):
    """A reader of the core's metric updates besides Prometheus (the forecaster, the day's tally)."""

    def observe(self, command: MetricUpdate, now: float) -> None: ...


class _Accepted:
    """The PBX's replies, already in: an awaitable that is done at once, with or without a loop."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


ACCEPTED: Awaitable[None] = _Accepted()

Handler = Callable[[ControlCommand], Awaitable[None] | None]


class MockControl:
    """Call control with no PBX: ``handler`` gets each command as it is sent.

    The handler returns None (the PBX accepted it at once), returns an awaitable (the wait for the
    replies, which may raise a refusal), or raises (nothing was written). Without a handler every
    command is accepted. ``rest`` is ignored: every command reaches the handler.
    """

    def __init__(self, handler: Handler | None = None) -> None:
        self._handler = handler

    def publish(self, command: PublishNext | WithdrawNext) -> Awaitable[None]:
        return ACCEPTED

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]:
        if self._handler is None:
            return ACCEPTED
        replies = self._handler(command)
        return ACCEPTED if replies is None else replies
