"""Position and estimated-wait announcements for waiting callers.

Holding (docs/dialplan.md) announces ``ACD_POSITION`` and ``ACD_EWT`` when the ACD has set them on the
caller's channel. This keeps them current: every few seconds it reads each waiting caller's place in
routing order and estimated wait from the core (``Acd.wait_estimates``: the estimate of
acd.core.wait_estimate, the one a queue's entry rule judges new callers by) and sets the variables
that changed. The estimate is left empty (not announced) until an AHT has been measured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from acd.core.acd import Acd

log = logging.getLogger(__name__)


class AnnouncePort(Protocol):
    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None: ...


class Announcer:
    def __init__(self, core: Acd, control: AnnouncePort, channel_of: Callable[[str], str | None]) -> None:
        self._core = core
        self._control = control
        self._channel_of = channel_of
        self._told: dict[str, tuple[int, int | None]] = {}

    async def refresh(self, now: float) -> int:
        """Send what changed since the last refresh; returns how many callers were updated."""
        estimates = self._core.wait_estimates(now)
        sent = 0
        for call_id, (_queue, place, ewt) in sorted(estimates.items(), key=lambda item: item[1][:2]):
            value = (place, ewt)
            channel = self._channel_of(call_id)
            if channel is None or self._told.get(call_id) == value:
                continue
            try:
                await self._control.announce(channel, *value)
            except Exception as exc:  # the caller may have just hung up; the next refresh tries again
                log.debug("announce for %s failed: %s", call_id[:8], exc)
                continue
            self._told[call_id] = value
            sent += 1
        for gone in set(self._told) - set(estimates):
            del self._told[gone]
        return sent
