"""Every Redirect the ACD sends is watched until the caller shows it landed.

Asterisk applies an AMI Redirect between two dialplan steps. One that arrives while the caller's
dialplan runs a jump (Goto, GotoIf) is overwritten by that jump: Asterisk has already answered
``Success`` and the caller simply stays where they were (docs/dialplan.md, "Redirects"). Nothing
else would ever tell: the caller would hold until the offer's ring timeout, or, after an overflow the
core has already closed, until the dialplan's own safety limit.

So each Redirect comes with the sign that it landed (``AcdRinging`` of the offer, ``AcdOverflowed``
of the caller), and the caller's ``Hangup`` settles it too. If neither shows within ``within``
seconds, the sender's ``on_missing`` runs: the caller is known to be where the Redirect did not take
them. The AMI link going down forgets everything pending: the resync after the reconnect rebuilds
the picture from Asterisk itself.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Sign = Callable[[Mapping[str, str]], bool]


@dataclass(slots=True)
class _Pending:
    channel: str
    sign: Sign
    on_missing: Callable[[], None]
    timer: asyncio.TimerHandle | None = None


class Confirmations:
    """Pending Redirects and the sign each waits for; ``observe`` sees every AMI message."""

    def __init__(self, within: float = 2.0) -> None:
        self.within = within
        self._pending: dict[int, _Pending] = {}
        self._by_channel: dict[str, set[int]] = {}
        self._keys = itertools.count(1)
        self.missed = 0

    def __len__(self) -> int:
        return len(self._pending)

    def expect(self, channel: str, sign: Sign, on_missing: Callable[[], None]) -> int:
        """Start watching, before the Redirect is sent (its sign may come before its response)."""
        key = next(self._keys)
        pending = _Pending(channel, sign, on_missing)
        pending.timer = asyncio.get_running_loop().call_later(self.within, self._expire, key)
        self._pending[key] = pending
        self._by_channel.setdefault(channel, set()).add(key)
        return key

    def drop(self, key: int) -> None:
        """Stop watching (the Redirect was refused, so there is nothing to land)."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        keys = self._by_channel.get(pending.channel)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_channel[pending.channel]

    def observe(self, msg: Mapping[str, str]) -> None:
        """Settle whatever this message confirms: the sign itself, or the caller hanging up."""
        keys = self._by_channel.get(msg.get("Channel", ""))
        if not keys:
            return
        hangup = msg.get("Event") == "Hangup"
        for key in list(keys):
            if hangup or self._pending[key].sign(msg):
                self.drop(key)

    def forget(self) -> None:
        """The link went down: nothing pending can be confirmed any more, and resync takes over."""
        for key in list(self._pending):
            self.drop(key)

    def _expire(self, key: int) -> None:
        pending = self._pending.get(key)
        if pending is None:
            return
        pending.timer = None
        self.drop(key)
        self.missed += 1
        pending.on_missing()


def user_event(kind: str, **headers: str) -> Sign:
    """The sign ``UserEvent: <kind>`` with these header values."""

    def sign(msg: Mapping[str, str]) -> bool:
        return (
            msg.get("Event") == "UserEvent"
            and msg.get("UserEvent") == kind
            and all(msg.get(name) == value for name, value in headers.items())
        )

    return sign
