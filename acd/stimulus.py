"""The last events the core was fed, kept so that a failure of the core can be reproduced.

A bug in the core (anything it raises other than an ``AcdError``) is logged with its trace, and
routing goes on; but the trace alone rarely says how the core got there. The runtime keeps the last
``capacity`` events it fed the core, each with its ``now`` (a bounded ring: a reference per event,
nothing encoded until needed), and dumps them when the core fails: one JSON line per event after a
header line with the routing config in force before the first of them. ``replay`` feeds a dump to a fresh core
through ``Acd.handle``, which raises the same failure when the dump is complete (``dropped == 0``:
nothing was pushed out of the ring before it).

The codec is generic over the core's frozen dataclasses (events, the config, records): a dataclass
becomes an object tagged with its class name (``"~"``), a tuple a list. It keeps what the core was
given exactly, non-finite numbers included, because that may be the very thing that broke it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import typing
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import UnionType
from typing import Any

from acd.core.acd import Acd
from acd.core.config import RoutingConfig
from acd.core.errors import AcdError
from acd.core.events import ConfigChanged, Event

log = logging.getLogger(__name__)
TAG = "~"
CAPACITY = 1000
DUMP_EVERY_SECONDS = 60.0  # a bug hit by every event must not fill the disk with dumps


def _dataclasses(root: Any) -> dict[str, type[Any]]:
    """Every dataclass reachable from ``root`` (a type or a union) through field types, by name."""
    found: dict[str, type[Any]] = {}
    todo: list[Any] = [root]
    while todo:
        hint = todo.pop()
        if isinstance(hint, UnionType) or typing.get_origin(hint) is not None:
            todo.extend(typing.get_args(hint))
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint.__name__ not in found:
            found[hint.__name__] = hint
            todo.extend(typing.get_type_hints(hint).values())
    return found


TYPES = _dataclasses(Event | RoutingConfig)


def encode(value: Any) -> Any:
    """A core value as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {TAG: type(value).__name__} | {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    return value


def decode(data: Any) -> Any:
    """The inverse of ``encode``: every list is a tuple again (the core's types hold no lists)."""
    if isinstance(data, dict):
        cls = TYPES[data[TAG]]
        return cls(**{name: decode(value) for name, value in data.items() if name != TAG})
    if isinstance(data, list):
        return tuple(decode(item) for item in data)
    return data


@dataclass(frozen=True, slots=True)
class Dump:
    config: RoutingConfig  # the config in force before the first event here
    stimuli: tuple[tuple[Event, float], ...]  # (event, now), oldest first
    dropped: int = 0  # events pushed out of the ring before the first one here


def dump_lines(dump: Dump) -> Iterator[str]:
    yield json.dumps({"config": encode(dump.config), "dropped": dump.dropped}, separators=(",", ":"))
    for event, now in dump.stimuli:
        yield json.dumps({"now": now, "event": encode(event)}, separators=(",", ":"))


def read_dump(lines: Iterable[str]) -> Dump:
    rows = [json.loads(line) for line in lines if line.strip()]
    header, body = rows[0], rows[1:]
    stimuli = tuple((typing.cast(Event, decode(row["event"])), float(row["now"])) for row in body)
    return Dump(decode(header["config"]), stimuli, int(header["dropped"]))


def replay(dump: Dump) -> Acd:
    """Feed a dump to a fresh core as the runtime did: refusals pass, a failure of the core is raised."""
    core = Acd(dump.config)
    for event, now in dump.stimuli:
        try:
            core.handle(event, now)
        except AcdError:
            continue
    return core


class StimulusLog:
    """The last ``capacity`` events fed to the core; ``dump`` writes them under ``directory``, or to the log."""

    def __init__(self, config: RoutingConfig, *, capacity: int = CAPACITY, directory: Path | None = None) -> None:
        self._config = config
        self._ring: deque[tuple[Event, float]] = deque(maxlen=capacity)
        self._seen = 0
        self.directory = directory
        self._last_dump: float | None = None

    def __len__(self) -> int:
        return len(self._ring)

    def record(self, event: Event, now: float) -> None:
        if len(self._ring) == self._ring.maxlen:
            oldest, _ = self._ring[0]
            if isinstance(oldest, ConfigChanged):  # pushed out: replay starts from the config it brought
                self._config = oldest.config
        self._ring.append((event, now))
        self._seen += 1

    def snapshot(self) -> Dump:
        return Dump(self._config, tuple(self._ring), self._seen - len(self._ring))

    def dump(self) -> Path | None:
        """Write the log out (at most once a minute); returns the file written, None when logged or skipped."""
        started = time.monotonic()
        if self._last_dump is not None and started - self._last_dump < DUMP_EVERY_SECONDS:
            return None
        self._last_dump = started
        try:
            lines = list(dump_lines(self.snapshot()))
            if self.directory is None:
                log.error(
                    "the last %d events fed to the core (acd.stimulus.read_dump):\n%s", len(lines) - 1, "\n".join(lines)
                )
                return None
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self.directory / f"stimuli-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}.jsonl"
            # born 0600, like the journal: the events carry callers' numbers
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
        except Exception:  # the dump is a help for later; it must never stop routing
            log.exception("could not dump the events fed to the core")
            return None
        log.error("the last %d events fed to the core are in %s", len(lines) - 1, path)
        return path
