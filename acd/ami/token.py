"""The per-start token that tells the ACD's own dialplan events from forged ones.

Any AMI user allowed to send a ``UserEvent`` can write one that looks like ``AcdEnqueue``, with any
``Uniqueid``: a phantom caller. So at each start the ACD draws a random token and sets it as the
PBX global ``ACD_TOKEN`` (AMI ``Setvar`` without a channel, as it sets ``ACD_HEARTBEAT``), and the
dialplan writes ``AcdToken: ${GLOBAL(ACD_TOKEN)}`` into every ``Acd*`` UserEvent it raises. An AMI
user who cannot read globals (docs/dialplan.md, "Which events the ACD believes", says which classes
can) cannot know it; an event without the token in force is refused.

The switch at a (re)start: events raised before the ``Setvar`` took effect carry the token of the
previous run (or none, on a PBX that just started). The ACD reads the old value before it sets its
own and accepts it for ``GRACE_SECONDS`` more; an event refused in between loses nothing, because
the resync that follows every connect reads each caller from their channel.
"""

from __future__ import annotations

import hmac
import secrets

VARIABLE = "ACD_TOKEN"
HEADER = "AcdToken"
GRACE_SECONDS = 30.0


class EventToken:
    """The token in force, and the previous run's for a short while after the switch."""

    def __init__(self, current: str | None = None) -> None:
        self.current = current or secrets.token_hex(16)
        self._previous = ""
        self._previous_until = 0.0

    def adopt_previous(self, previous: str, now: float) -> None:
        """The PBX still held ``previous`` when this run set its own: accept it for the grace period."""
        if previous and previous != self.current:
            self._previous = previous
            self._previous_until = now + GRACE_SECONDS

    def accepts(self, value: str, now: float) -> bool:
        if not value:
            return False
        if hmac.compare_digest(value.encode(), self.current.encode()):
            return True
        return (
            bool(self._previous)
            and now < self._previous_until
            and hmac.compare_digest(value.encode(), self._previous.encode())
        )
