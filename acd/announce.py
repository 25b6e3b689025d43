"""Position and estimated-wait announcements for waiting callers.

Holding (docs/dialplan.md) announces ``ACD_POSITION`` and ``ACD_EWT`` when the ACD has set them on the
caller's channel. This keeps them current: every few seconds it reads each waiting caller's place in
routing order from the core and sets the variables that changed. The estimate is
EWT = position * AHT / agents serving the queue (AHT measured over the forecast window); it is left
empty (not announced) until an AHT has been measured.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Protocol

from acd.core.acd import Acd
from acd.forecast import Forecaster, staffed

log = logging.getLogger(__name__)


class AnnouncePort(Protocol):
    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None: ...


def estimated_wait(position: int, aht: float | None, serving: int) -> int | None:
    if aht is None or serving <= 0:
        return None
    return math.ceil(position * aht / serving)


class Announcer:
    def __init__(
        self, core: Acd, control: AnnouncePort, forecaster: Forecaster, channel_of: Callable[[str], str | None]
    ) -> None:
        self._core = core
        self._control = control
        self._forecaster = forecaster
        self._channel_of = channel_of
        self._told: dict[str, tuple[int, int | None]] = {}

    def _serving(self, now: float) -> Mapping[str, int]:
        snapshot = self._core.snapshot(now)
        config = self._core.config
        return {queue.name: staffed(queue, config.agents, snapshot) for queue in config.queues}

    async def refresh(self, now: float) -> int:
        """Send what changed since the last refresh; returns how many callers were updated."""
        positions = self._core.positions()
        serving = self._serving(now)
        sent = 0
        for call_id, (queue, place) in sorted(positions.items(), key=lambda item: item[1]):
            measured = self._forecaster.rate_and_aht(queue, now)
            value = (place, estimated_wait(place, measured[1] if measured else None, serving.get(queue, 0)))
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
        for gone in set(self._told) - set(positions):
            del self._told[gone]
        return sent
