"""What each header of an AMI event may hold before the translator believes it.

Every value that reaches the core came from outside: the dialplan (which copies a caller's number
into ``AcdCaller``), or any AMI user allowed to send a ``UserEvent``. So each field is read through
one of these checks, which raise ``Refused`` with a reason from ``REASONS``, the label values of
``acd_ami_refused_total{reason}``. The bounds are the core's (``acd.core.bounds``): a refused field
never reaches it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from acd.ami.wire import REPEATED
from acd.core.bounds import MAX_AGE_SECONDS, MAX_AHEAD_SECONDS, MAX_PRIORITY, MIN_PRIORITY

REASONS = (
    "token",  # no AcdToken, or not the one in force: not raised by the ACD's dialplan
    "channel",  # a caller's event without the channel headers Asterisk writes (Channel, Uniqueid, ...)
    "injected",  # an Acd* header repeated, or a field holding a field separator
    "field",  # a header the event needs is missing or empty
    "number",  # not a (finite) number, or not an integer where one is needed
    "time",  # a time outside the window around now
    "priority",  # a priority outside MIN_PRIORITY..MAX_PRIORITY
    "queue",  # a queue the routing config does not have
    "agent",  # an agent endpoint the routing config does not have, or an unknown action
    "id",  # an id or endpoint that is not well formed
    "text",  # control characters, or longer than its limit
    "state",  # not possible now (a disposition with no call before it)
    "disposition",  # a phone's *55<n> whose n is no code of the catalogue of the call's queue
    "internal",  # the translator failed (a bug); logged with its trace
    "pbx",  # a channel's Uniqueid not of the PBX whose link it came on (docs/pbxs.md)
)

MAX_TEXT = 64
MAX_CHANNEL = 128
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
UNIQUEID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENDPOINT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9/@;._+=#*-]{0,127}")
_WORD = re.compile(r"[A-Za-z0-9_ -]{0,32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEPARATORS = re.compile(r"[,:|\"\\]")


class Refused(Exception):
    """The event is not believed: ``reason`` (one of ``REASONS``) and what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def need(msg: Mapping[str, str], key: str) -> str:
    value = msg.get(key)
    if not value:
        raise Refused("field", f"missing {key}")
    return value


def not_injected(msg: Mapping[str, str]) -> None:
    if REPEATED in msg:
        raise Refused("injected", f"repeated header(s) {msg[REPEATED]}")


def _matching(msg: Mapping[str, str], key: str, pattern: re.Pattern[str], reason: str = "id") -> str:
    value = need(msg, key)
    if not pattern.fullmatch(value):
        raise Refused(reason, f"ill-formed {key} {shown(value)}")
    return value


def uniqueid(msg: Mapping[str, str]) -> str:
    return _matching(msg, "Uniqueid", UNIQUEID)


def offer(msg: Mapping[str, str]) -> str:
    return _matching(msg, "AcdOffer", ID)


def endpoint(msg: Mapping[str, str], key: str = "AcdAgent") -> str:
    return _matching(msg, key, ENDPOINT)


def channel(msg: Mapping[str, str]) -> str:
    """The caller's channel, as Asterisk names it (``PJSIP/trunk-00000002``, ``Local/x@ctx-1;2``)."""
    return _matching(msg, "Channel", _CHANNEL, reason="channel")


def word(msg: Mapping[str, str], key: str) -> str:
    """A short code (a pause reason, a disposition, a dial status): letters, digits, ``_``, ``-``, space."""
    value = msg.get(key, "")
    if not _WORD.fullmatch(value):
        raise Refused("text", f"{key} {shown(value)} is not a short code")
    return value


def caller(msg: Mapping[str, str]) -> str:
    """The caller's number: short, one line, and no field separator (a sign of smuggled fields)."""
    value = msg.get("AcdCaller", "")
    if len(value) > MAX_TEXT or _CONTROL.search(value):
        raise Refused("text", f"AcdCaller {shown(value)} is too long or holds control characters")
    if _SEPARATORS.search(value):
        raise Refused("injected", f"AcdCaller {shown(value)} holds a field separator")
    return value


def priority(msg: Mapping[str, str]) -> int:
    text = need(msg, "AcdPriority")
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        raise Refused("number", f"AcdPriority {shown(text)} is not an integer")
    value = int(text)
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise Refused("priority", f"AcdPriority {value} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
    return value


def epoch(msg: Mapping[str, str], key: str, now: float) -> float | None:
    """An epoch time the dialplan wrote (``%s.%6q``), if present: finite and within the window around now."""
    text = msg.get(key)
    if not text:
        return None
    if len(text) > 32:
        raise Refused("number", f"{key} {shown(text)} is not a time")
    try:
        value = float(text)
    except ValueError:
        raise Refused("number", f"{key} {shown(text)} is not a number") from None
    if not math.isfinite(value):
        raise Refused("number", f"{key} {shown(text)} is not finite")
    if not now - MAX_AGE_SECONDS <= value <= now + MAX_AHEAD_SECONDS:
        raise Refused("time", f"{key} {value:.3f} is outside the window around now ({now:.3f})")
    return value


def shown(value: str) -> str:
    """A value as a log line may show it: quoted, control characters escaped, cut at 40 characters."""
    cut = value if len(value) <= 40 else value[:40] + "…"
    return repr(cut)
