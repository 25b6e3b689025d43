"""Stand-ins for the ACD's outside world in tests that drive a real runtime without Asterisk.

Call control is ``MockControl(handler)`` (``acd.ports``): the handler sees each command the runtime
sends and answers for the PBX (None: accepted at once; an awaitable: the wait for the replies; an
exception: nothing written). ``keep_rings`` is the handler most tests want.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from acd.core.commands import ControlCommand, RingAgent
from acd.core.record_types import Record
from acd.ports import MockControl

__all__ = ["ListSink", "MockControl", "NullSink", "keep_rings"]


def keep_rings(rings: list[RingAgent], sent: list[ControlCommand] | None = None) -> Callable[[ControlCommand], None]:
    """A handler that accepts every command and keeps the rings, for a test to answer (and, with
    ``sent``, every command)."""

    def handler(command: ControlCommand) -> None:
        if isinstance(command, RingAgent):
            rings.append(command)
        if sent is not None:
            sent.append(command)

    return handler


@dataclass
class ListSink:
    """The runtime's record sink, as a list."""

    records: list[Record] = field(default_factory=list)

    def append(self, record: Record) -> None:
        self.records.append(record)


class NullSink:
    """A record sink that drops everything (the test looks elsewhere)."""

    def append(self, record: object) -> None: ...
