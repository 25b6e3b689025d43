"""Call control: the few AMI actions by which the ACD moves callers, per docs/dialplan.md.

Each method is one step of the dialplan contract and nothing more; the runtime maps core
commands onto them (``RingAgent`` → ``ring``, ``CancelOffer`` → ``cancel``, ``OverflowCall`` →
``overflow``) and refreshes the heartbeat on a timer. Failures surface as ``AmiError``: most
often ``AmiActionError("No such channel")`` because the caller hung up a moment ago, which the
runtime can ignore since the ``Hangup`` event is already on its way. Nothing is retried here: a
retried Redirect could move a caller the core has since re-routed.
"""

from __future__ import annotations

import asyncio
import math

from acd.ami.resync import ActionPort
from acd.ami.wire import Message

HOLD = ("acd-hold", "s")
CONNECT_CONTEXT = "acd-connect"
OVERFLOW_CONTEXT = "acd-overflow"


class CallControl:
    """Issue call-control actions on one link, in order, each within ``timeout`` seconds."""

    def __init__(self, link: ActionPort, *, timeout: float = 5.0) -> None:
        self._link = link
        self._timeout = timeout

    async def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> None:
        """Offer the caller on ``channel`` to ``endpoint``: two Setvars, then the Redirect.

        The dialplan reads ACD_OFFER and ACD_RING_TIMEOUT the moment the Redirect lands, so they must
        be set first. The three actions are pipelined: written back to back, in that order, on the
        one link, and Asterisk runs one manager session's actions in the order it reads them. So the
        order holds while the caller waits one round trip instead of three (an agent's phone rings
        about a millisecond sooner). Dial takes whole seconds; round up.
        """
        steps = await asyncio.gather(
            self._setvar(channel, "ACD_OFFER", offer_id),
            self._setvar(channel, "ACD_RING_TIMEOUT", str(max(1, math.ceil(ring_timeout)))),
            self._redirect(channel, CONNECT_CONTEXT, endpoint),
            return_exceptions=True,
        )
        for step in steps:
            if isinstance(step, BaseException):
                raise step

    async def cancel(self, channel: str) -> None:
        """Stop ringing: send the caller back to holding (Dial ends with CANCEL)."""
        await self._redirect(channel, *HOLD)

    async def overflow(self, channel: str, target: str) -> None:
        """Hand the caller to ``acd-overflow,<target>`` (``voicemail``, ``fallback``, …)."""
        await self._redirect(channel, OVERFLOW_CONTEXT, target)

    async def heartbeat(self, epoch: int) -> None:
        """Refresh the global ACD_HEARTBEAT that holding checks to know the ACD is alive."""
        await self._send({"Action": "Setvar", "Variable": "ACD_HEARTBEAT", "Value": str(int(epoch))})

    async def announce(self, channel: str, position: int, ewt_seconds: int | None) -> None:
        """Set ACD_POSITION (1 = next) and ACD_EWT (seconds; empty = unknown) for holding to announce."""
        await self._setvar(channel, "ACD_POSITION", str(position))
        await self._setvar(channel, "ACD_EWT", "" if ewt_seconds is None else str(ewt_seconds))

    async def hangup(self, channel: str, cause: int = 16) -> None:
        """Hang up a channel (cause 16: normal clearing)."""
        await self._send({"Action": "Hangup", "Channel": channel, "Cause": str(cause)})

    async def _setvar(self, channel: str, variable: str, value: str) -> None:
        await self._send({"Action": "Setvar", "Channel": channel, "Variable": variable, "Value": value})

    async def _redirect(self, channel: str, context: str, exten: str) -> None:
        await self._send(
            {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten, "Priority": "1"}
        )

    async def _send(self, action: dict[str, str]) -> Message:
        return await self._link.send(action, self._timeout)
