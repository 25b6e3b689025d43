"""The values the core will hold: checked on every event before anything changes.

The routing indexes order calls by ``(-priority, deadline, enqueue time, id)``. A NaN in that key
is never equal to itself, so the call could be added but never found or removed again, and every
later dispatch of its queue failed; an infinite enqueue time overflowed a caller at once. Records
carry the same values into PostgreSQL, which refuses NaN in some columns, NUL in text and integers
beyond int4. So the core accepts, whoever sent the event (AMI, the REST API, a resync):

- numbers that are finite; integers (never ``bool``) within int4, priorities within
  ``MIN_PRIORITY..MAX_PRIORITY`` (the range the REST API documents);
- times a caller could really have: an enqueue, answer, end or leaving time no later than ``MAX_AHEAD_SECONDS``
  after ``now`` (clock skew between the PBX and the ACD) and no earlier than ``MAX_AGE_SECONDS``
  before it (no call lasts a day); but a pending callback read back at a start (a ``CallArrived``
  with ``callback``) has no caller on the line and may have waited for its agent for days: its
  times go back ``MAX_CALLBACK_AGE_SECONDS`` (docs/kpis.md, "Callbacks");
- ids (of calls, offers, agents, queues, timers) that are not empty;
- text without NUL or other control characters (line breaks allowed in notes only), and no longer
  than its field's limit.

A refused event raises ``InvalidValue`` and leaves the core as it was.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from acd.core.errors import InvalidValue

MIN_PRIORITY = 0
MAX_PRIORITY = 1000
MAX_AHEAD_SECONDS = 60.0
MAX_AGE_SECONDS = 86400.0
MAX_CALLBACK_AGE_SECONDS = 10 * 366 * 86400.0  # a pending callback's enqueue and first arrival
INT4 = 2**31 - 1
MAX_TEXT = 256  # ids, names, reasons, numbers
TEXT_LIMITS = {"notes": 4000}
MULTILINE = frozenset({"notes"})
TIMES = frozenset({"enqueued_at", "answered_at", "ended_at", "left_at", "arrived_at"})
DURATIONS = frozenset({"waited_before"})  # seconds, 0 .. a day
PRIORITIES = frozenset({"priority"})
IDS = frozenset({"call_id", "offer_id", "agent_id", "queue", "subject", "pbx"})  # never empty (subject: a timer's)

_CONTROL = frozenset(map(chr, [*range(0x20), 0x7F]))
_CONTROL_BUT_LINES = _CONTROL - {"\t", "\n", "\r"}
_FIELDS: dict[type, tuple[str, ...]] = {}


def check_now(now: float) -> None:
    if not math.isfinite(now):
        raise InvalidValue("handle", "now", f"{now!r} is not a finite time")


def check_event(event: object, now: float) -> None:
    """Raise ``InvalidValue`` for the first field of ``event`` (and of the data it carries) out of bounds."""
    _check(type(event).__name__, event, now)


def _max_age(data: object) -> float:
    """How far back a time of ``data`` may lie: a pending callback's arrival (no channel) is not bound
    by a caller's patience (the class is named, not imported: the events import nothing of this)."""
    if type(data).__name__ == "CallArrived" and bool(getattr(data, "callback", None)):
        return MAX_CALLBACK_AGE_SECONDS
    return MAX_AGE_SECONDS


def _check(name: str, data: object, now: float) -> None:
    max_age = _max_age(data)
    for field in _field_names(type(data)):
        value = getattr(data, field)
        if value is None:
            continue
        if field in PRIORITIES and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidValue(name, field, f"{value!r} is not an integer")
        if field in IDS and not value:
            raise InvalidValue(name, field, "is empty")
        if isinstance(value, str):
            _text(name, field, value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            _integer(name, field, value)
        elif isinstance(value, float):
            _number(name, field, value, now, max_age)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type) and _checked(value):
            _check(name, value, now)


def _checked(value: Any) -> bool:
    """Events, the call data and timer keys they carry; a whole routing config is checked where it is loaded."""
    return type(value).__module__ in ("acd.core.events", "acd.core.timers")


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
    return names


def _text(event: str, field: str, value: str) -> None:
    limit = TEXT_LIMITS.get(field, MAX_TEXT)
    if len(value) > limit:
        raise InvalidValue(event, field, f"{len(value)} characters, more than {limit}")
    if not value or (min(value) >= " " and "\x7f" not in value):
        return  # the common case, without a look at each character
    control = _CONTROL_BUT_LINES if field in MULTILINE else _CONTROL
    if not control.isdisjoint(value):
        raise InvalidValue(event, field, "holds a control character")


def _integer(event: str, field: str, value: int) -> None:
    if field in PRIORITIES:
        if not MIN_PRIORITY <= value <= MAX_PRIORITY:
            raise InvalidValue(event, field, f"{value} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
    elif not -INT4 <= value <= INT4:
        raise InvalidValue(event, field, f"{value} is beyond a 32-bit integer")


def _number(event: str, field: str, value: float, now: float, max_age: float = MAX_AGE_SECONDS) -> None:
    if not math.isfinite(value):
        raise InvalidValue(event, field, f"{value!r} is not finite")
    if field in DURATIONS and not 0 <= value <= MAX_AGE_SECONDS:
        raise InvalidValue(event, field, f"{value:.3f} is outside 0..{MAX_AGE_SECONDS:g} s")
    if field in TIMES:
        if value > now + MAX_AHEAD_SECONDS:
            raise InvalidValue(event, field, f"{value:.3f} is more than {MAX_AHEAD_SECONDS:g} s ahead of now")
        if value < now - max_age:
            raise InvalidValue(event, field, f"{value:.3f} is more than {max_age:g} s before now")
