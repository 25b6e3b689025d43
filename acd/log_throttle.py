"""Logging that a flood of bad input cannot turn into a flood of log lines.

Whoever can send the ACD input (an AMI user, a caller's number) could otherwise fill the disk: one
warning per refused event made 2,000 bad events in 10 s into 24,000 lines. A ``LogThrottle`` logs
the first occurrence of each reason at once, then at most one line per reason per ``interval``
seconds, which says how many were held back since the last line. A reason's count is never lost:
the next line that reason gets carries it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_INTERVAL = 10.0  # seconds between two lines of one reason


@dataclass(slots=True)
class _Reason:
    last_logged: float
    held_back: int = 0


@dataclass(eq=False)
class LogThrottle:
    """At most one line per reason per ``interval`` on ``logger``; the rest are counted."""

    logger: logging.Logger
    interval: float = DEFAULT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    _reasons: dict[str, _Reason] = field(default_factory=dict, init=False, repr=False)

    def log(self, level: int, reason: str, message: str, *args: object, exc_info: BaseException | None = None) -> bool:
        """Log ``message % args`` under ``reason`` unless that reason logged within the interval.

        Returns whether a line was written. A held-back line only adds to the reason's count.
        """
        now = self.clock()
        seen = self._reasons.get(reason)
        if seen is not None and now - seen.last_logged < self.interval:
            seen.held_back += 1
            return False
        held_back = 0 if seen is None else seen.held_back
        self._reasons[reason] = _Reason(now)
        if held_back:
            self.logger.log(
                level,
                message + " (and %d more like it in the last %.0f s)",
                *args,
                held_back,
                now - (seen.last_logged if seen is not None else now),
                exc_info=exc_info,
            )
        else:
            self.logger.log(level, message, *args, exc_info=exc_info)
        return True

    def warning(self, reason: str, message: str, *args: object) -> bool:
        return self.log(logging.WARNING, reason, message, *args)
