"""Stand-ins for the ACD's outside world in tests that drive a real runtime without Asterisk.

Call control in the runtime's contract writes its actions at once and returns the wait for
Asterisk's replies (``acd.runtime.CallControl``); these doubles answer at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from acd.core.record_types import Record


def accepted() -> asyncio.Future[None]:
    """Asterisk's replies, already in: what call control returns once they came."""
    replies: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    replies.set_result(None)
    return replies


@dataclass
class RecordingControl:
    """Keeps every ring (channel, offer id, endpoint); cancels, overflows and tags are accepted and dropped."""

    rings: list[tuple[str, str, str]] = field(default_factory=list)

    async def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> None:
        self.rings.append((channel, offer_id, endpoint))

    async def cancel(self, channel: str) -> None: ...

    async def overflow(self, channel: str, target: str) -> None: ...

    async def tag(self, channel: str, queue: str, priority: int, enqueued_at: float) -> None: ...


@dataclass
class ListSink:
    """The runtime's record sink, as a list."""

    records: list[Record] = field(default_factory=list)

    def append(self, record: Record) -> None:
        self.records.append(record)


@dataclass
class AnsweringPbx:
    """Call control that Asterisk accepts at once; the agents' phones it rang, for a test to answer.

    Each caller's channel is its call id, so a ring says which call it is for.
    """

    ringing: list[tuple[str, str]] = field(default_factory=list)  # (call id, offer id)

    def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]:
        self.ringing.append((channel, offer_id))
        return accepted()

    def cancel(self, channel: str) -> Awaitable[None]:
        return accepted()

    def overflow(self, channel: str, target: str) -> Awaitable[None]:
        return accepted()

    def tag(self, channel: str, queue: str, priority: int, enqueued_at: float) -> Awaitable[None]:
        return accepted()


class NullSink:
    """A record sink that drops everything (the test looks elsewhere)."""

    def append(self, record: object) -> None: ...
