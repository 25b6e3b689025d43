"""Position, estimated-wait and wait-so-far announcements for waiting callers.

Holding (docs/dialplan.md) announces ``ACD_POSITION`` and ``ACD_EWT`` when the ACD has set them on the
caller's channel. This keeps them current: every few seconds it reads each waiting caller's place in
routing order and estimated wait from the core (``Acd.wait_estimates``: the estimate of
acd.core.wait_estimate, the one a queue's entry rule judges new callers by) and sets the variables
that changed. The estimate is left empty (not announced) until an AHT has been measured.

In a queue with ``announce_waited`` it also sets ``ACD_WAITED_SAY``: the caller's wait so far over
every stay, as holding says it (``Acd.waits_said``, acd.core.wait_said), so a caller transferred or
overflowed there hears their whole wait. It is sent when what is said changes (every ten seconds
under a minute, then once a minute), kept per channel so that a caller who overflows into a queue
that does not say it has it cleared; a transfer clears it in the dialplan.

What was sent is kept per stay (its queue and start, ``Acd.stay_of``), not only per call: a transfer
clears ``ACD_POSITION``, ``ACD_EWT`` and ``ACD_WAITED_SAY`` on the channel (docs/dialplan.md), so a
caller who lands in another stay is told their place there again, even when it is the same number as
before (the call keeps its id through the transfer, and may be back in place 1 of a queue within one
refresh).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from acd.core.acd import Acd

log = logging.getLogger(__name__)


class AnnouncePort(Protocol):
    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None: ...

    async def say_waited(self, channel: str, seconds: int | None) -> None: ...


class Announcer:
    def __init__(self, core: Acd, control: AnnouncePort, channel_of: Callable[[str], str | None]) -> None:
        self._core = core
        self._control = control
        self._channel_of = channel_of
        # call id -> (its stay, place, estimate) last sent
        self._told: dict[str, tuple[tuple[str, float] | None, int, int | None]] = {}
        # channel -> (the stay, the wait so far) it was last told to say
        self._said: dict[str, tuple[tuple[str, float] | None, int]] = {}

    async def refresh(self, now: float) -> int:
        """Send what changed since the last refresh; returns how many callers were updated."""
        estimates = self._core.wait_estimates(now)
        waits = self._core.waits_said(now)
        sent = 0
        holding: set[str] = set()
        for call_id, (_queue, place, ewt) in sorted(estimates.items(), key=lambda item: item[1][:2]):
            stay = self._core.stay_of(call_id)
            channel = self._channel_of(call_id)
            if channel is None:
                continue
            holding.add(channel)
            updated = False
            if self._told.get(call_id) != (stay, place, ewt):
                try:
                    await self._control.announce(channel, place, ewt)
                except Exception as exc:  # the caller may have just hung up; the next refresh tries again
                    log.debug("announce for %s failed: %s", call_id[:8], exc)
                    continue
                self._told[call_id] = (stay, place, ewt)
                updated = True
            said = waits.get(call_id)
            last = self._said.get(channel)
            if (last is None and said is not None) or (last is not None and last != (stay, said)):
                try:
                    await self._control.say_waited(channel, said)
                except Exception as exc:
                    log.debug("wait so far for %s failed: %s", call_id[:8], exc)
                    continue
                if said is None:
                    self._said.pop(channel, None)
                else:
                    self._said[channel] = (stay, said)
                updated = True
            sent += updated
        for gone in set(self._told) - set(estimates):
            del self._told[gone]
        for channel in set(self._said) - holding:  # answered or gone: a transfer clears it on the channel
            del self._said[channel]
        return sent
