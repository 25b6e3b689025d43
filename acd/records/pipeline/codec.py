"""Journal line format: one record per line, JSON, with a type tag.

    {"type": "interaction", "epoch": 7, "data": {"interaction_id": "…", "seq": 3, …}}\\n

``epoch`` is the leadership term of the process that journaled the line (docs/standby.md, "Records
reconciled by epoch"); a line without it (journaled before epochs) is epoch 0.

Decoding is strict, because a line that would reach Postgres half-understood is worse than one that
is quarantined: an unknown type, a missing or unknown field, a wrong JSON type, an id that is not a
UUID, a value outside a Literal, or a number that is not finite (``NaN``, ``Infinity``, ``1e999``:
Postgres would take a NaN wait and every average over it would be NaN) raises ``BadLine`` with a
reason for the quarantine file. ``encode`` refuses non-finite numbers likewise (``ValueError``); the
outbox quarantines such a record instead of journaling it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin

from acd.core.record_types import (
    AgentStateRecord,
    InteractionRecord,
    OfferRecord,
    Record,
    RecordingPauseRecord,
    RecordingRecord,
    SegmentRecord,
)

TYPE_TAGS: dict[type[Any], str] = {
    InteractionRecord: "interaction",
    OfferRecord: "offer",
    AgentStateRecord: "agent_state",
    RecordingRecord: "recording",
    RecordingPauseRecord: "recording_pause",
    SegmentRecord: "segment",
}
RECORD_TYPES: dict[str, type[Any]] = {tag: cls for cls, tag in TYPE_TAGS.items()}
UUID_FIELDS = frozenset(
    {"interaction_id", "offer_id", "interval_id", "customer_id", "pause_id", "segment_id", "stay_id"}
)


class BadLine(ValueError):
    """A journal line that cannot become a record; ``reason`` goes to the quarantine file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(record: Record, epoch: int = 0) -> bytes:
    tag = TYPE_TAGS[type(record)]
    data = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    line: dict[str, object] = {"type": tag, "data": data} if epoch == 0 else {"type": tag, "epoch": epoch, "data": data}
    return json.dumps(line, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def decode(line: bytes) -> Record:
    return decode_stamped(line)[0]


def decode_stamped(line: bytes) -> tuple[Record, int]:
    """The record of a journal line and the epoch it was journaled under (0 when the line has none)."""
    try:
        obj = json.loads(line, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadLine(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
        raise BadLine("not an object with a 'data' object")
    cls = RECORD_TYPES.get(obj.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise BadLine(f"unknown record type {obj.get('type')!r}")
    epoch = obj.get("epoch", 0)
    if type(epoch) is not int or epoch < 0:
        raise BadLine(f"epoch: {epoch!r} is not a term's number")
    return typing.cast(Record, _build(cls, obj["data"])), epoch


def _no_constant(name: str) -> object:
    raise BadLine(f"not a finite number: {name}")


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    required: bool
    check: Callable[[object], bool]
    hint: str
    is_uuid: bool


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    fields = _FIELDS[cls]
    if len(data) != len(fields) or not data.keys() <= fields.keys():
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise BadLine(f"{TYPE_TAGS[cls]}: unknown fields {unknown}")
        missing = [f.name for f in fields.values() if f.required and f.name not in data]
        if missing:
            raise BadLine(f"{TYPE_TAGS[cls]}: missing fields {missing}")
    for name, value in data.items():
        field = fields[name]
        if not field.check(value):
            raise BadLine(f"{TYPE_TAGS[cls]}.{name}: {value!r} is not {field.hint}")
        if field.is_uuid and value is not None:
            try:
                uuid.UUID(value)
            except ValueError as exc:
                raise BadLine(f"{TYPE_TAGS[cls]}.{name}: {value!r} is not a UUID") from exc
    return cls(**data)


def _checker(hint: Any) -> Callable[[object], bool]:
    """A fast test for one field's type hint, built once per field (decoding is on the drain path)."""
    origin = get_origin(hint)
    if origin is Literal:
        allowed = frozenset(get_args(hint))
        return lambda v: isinstance(v, str) and v in allowed
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(hint) if arg is not type(None)]
        inner = _checker(args[0]) if len(args) == 1 else _any_of([_checker(arg) for arg in args])
        if len(args) < len(get_args(hint)):  # Optional[...]: the common case, kept cheap
            return lambda v: v is None or inner(v)
        return inner
    if hint is type(None):
        return lambda v: v is None
    if hint is float:
        return lambda v: (type(v) is float and math.isfinite(v)) or type(v) is int
    if hint is int:
        return lambda v: type(v) is int
    if hint is str or hint is bool:
        return lambda v: type(v) is hint
    return lambda v: isinstance(v, hint)


def _any_of(checks: list[Callable[[object], bool]]) -> Callable[[object], bool]:
    return lambda v: any(check(v) for check in checks)


def _fields(cls: type[Any]) -> dict[str, _Field]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: _Field(
            f.name, f.default is dataclasses.MISSING, _checker(hints[f.name]), str(hints[f.name]), f.name in UUID_FIELDS
        )
        for f in dataclasses.fields(cls)
    }


_FIELDS: dict[type[Any], dict[str, _Field]] = {cls: _fields(cls) for cls in TYPE_TAGS}
