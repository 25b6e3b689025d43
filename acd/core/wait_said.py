"""What holding says of a caller's wait so far, in a queue that announces it (``announce_waited``).

Callers transferred or overflowed into a queue ask how long they have been holding in all, not in
this queue: the figure is the caller's **wait so far** (docs/kpis.md, "The caller's wait so far"),
every earlier stay's queue time plus this stay's, counted from their first arrival. It is said with
the stock sounds alone (docs/dialplan.md, "Holding"): "hold time", a number, "seconds" or "minute(s)".
So it is rounded down to what is said: tens of seconds under a minute (nothing under ten seconds),
whole minutes from a minute on, at most ``MAX_MINUTES``. The value is in seconds, a multiple of ten
under a minute and of sixty above, which is also what the PBX checks (``is_said``).
"""

from __future__ import annotations

import math

MIN_SAID_SECONDS = 10
MAX_MINUTES = 999


def wait_said(seconds: float) -> int | None:
    """The wait so far as holding says it, in seconds; None: nothing to say (under ten seconds)."""
    if not math.isfinite(seconds) or seconds < MIN_SAID_SECONDS:
        return None
    if seconds < 60:
        return int(seconds // 10) * 10
    return min(int(seconds // 60), MAX_MINUTES) * 60


def is_said(value: int) -> bool:
    """Whether ``value`` is one ``wait_said`` gives: what may be handed to the PBX."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    if MIN_SAID_SECONDS <= value < 60:
        return value % 10 == 0
    return 60 <= value <= MAX_MINUTES * 60 and value % 60 == 0
