"""Errors raised by the AMI adapter: the only exceptions that leave ``acd.ami``.

Their callers in the ACD (the pump, the jobs) catch these and nothing else from this package, and call
control hands the runtime each as a ``NotCarriedOut`` (``acd.ports``); no panoramisk, socket or
asyncio exception crosses the boundary. The whole hierarchy::

    AmiError                  anything that went wrong talking to Asterisk
    ├── AmiActionError        Asterisk answered ``Response: Error`` (bad channel, no such variable…)
    ├── AmiTimeout            no answer within the caller's timeout; the action MAY still have run
    └── AmiDisconnected       not connected, or the link dropped while the action was pending;
                              the action is never resent, so the caller decides whether to retry
"""

from __future__ import annotations

from collections.abc import Mapping


class AmiError(Exception):
    """Base class of every AMI adapter error."""


class AmiActionError(AmiError):
    """Asterisk refused an action. ``response`` holds the raw reply headers."""

    def __init__(self, action: str, response: Mapping[str, str]) -> None:
        self.action = action
        self.response = dict(response)
        self.message = response.get("Message", "")
        super().__init__(f"{action}: {self.message or response.get('Response', 'error')}")


class AmiTimeout(AmiError):
    """No reply in time. Asterisk may have executed the action anyway: do not assume it did not."""


class AmiDisconnected(AmiError):
    """The link is down, or dropped while an action was pending. Nothing is resent automatically."""
