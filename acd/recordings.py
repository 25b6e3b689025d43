"""Call recordings beside the core: their records, and pausing them (docs/records.md, "Recordings").

The PBX records (the dialplan starts MixMonitor on the agent's leg when the ACD's offer said the queue
records; docs/dialplan.md, "Recordings"); the file is named after the agent leg's Uniqueid (one file
per answered stay: a caller transferred on and answered again gets a second file, not the first one
overwritten), never after anything a caller sends. What the ACD adds is the record of it, and that is
I/O the core must not do: so the ``Recorder`` sits on the runtime's record sink, passes every record
on, and watches the interaction snapshots go by. An answered stay of a recording queue is noted; when
that stay closes (the caller hung up, or the agent transferred them on: the stay's record then comes
under its own id), the file is awaited until the PBX has closed it (a WAV whose header gives its full
size), then its length (from the header) and its SHA-256 go out as a ``RecordingRecord`` of that
stay through the same outbox.

Pausing (a card number being read out) mutes both directions of the running MixMonitor
(``MixMonitorMute``), so the file keeps the call's length with silence where it was paused; each
paused stretch becomes a ``RecordingPauseRecord`` (offsets from the recording's start), written when
the stay closes, under the stay's id. Pauses come from the REST API and from the agent's feature code,
through ``pause``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from acd.core.record_types import InteractionRecord, Record, RecordingPauseRecord, RecordingRecord
from acd.ports import RecordSink

log = logging.getLogger(__name__)

# a Uniqueid as Asterisk makes it: <epoch>.<sequence>, after "<systemname>-" when the PBX has one
# (docs/pbxs.md, "Calls are identified by PBX and channel")
UNIQUEID = re.compile(r"(?:[a-z][a-z0-9-]{0,31}-)?[0-9]{1,20}\.[0-9]{1,20}")
FILE = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}\.wav")
PAUSES = uuid.UUID("5b0f4c1e-2d7a-4c61-9a53-2a7c1f0e9b11")  # namespace of the pauses' ids


def file_name(uniqueid: str) -> str | None:
    """The recording's name for the agent leg's Uniqueid as the dialplan makes it (its digits and dots,
    ``FILTER(.0-9)``: ``pbx-1765100000.17`` records into ``1765100000.17.wav``), or None if not one."""
    if not UNIQUEID.fullmatch(uniqueid):
        return None
    name = "".join(c for c in uniqueid if c in "0123456789.") + ".wav"
    return name if FILE.fullmatch(name) else None


def wav_seconds(path: Path) -> float | None:
    """The length of a finished WAV file from its header; None while the PBX still writes it (the
    header's sizes are written when the file is closed) or if it is not a PCM WAV."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            size = f.seek(0, 2)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    if struct.unpack_from("<I", head, 4)[0] + 8 != size:
        return None  # not closed yet
    at, rate_bytes, data = 12, 0, None
    while at + 8 <= len(head):
        kind, length = head[at : at + 4], struct.unpack_from("<I", head, at + 4)[0]
        if kind == b"fmt " and at + 16 <= len(head):
            rate_bytes = int(struct.unpack_from("<I", head, at + 8 + 8)[0])  # byte rate
        elif kind == b"data":
            data = int(length)
            break
        at += 8 + length + (length & 1)
    if data is None or rate_bytes <= 0:
        return None
    return data / rate_bytes


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class NotRecording(Exception):
    """No recording runs for that call (not in conversation, or its queue does not record)."""


class NoAgentLeg(Exception):
    """The recording runs, but the ACD does not know the agent's channel (taken over after a restart)."""


@dataclass(slots=True)
class _Live:
    uniqueid: str  # the caller's: with answered_at, which stay this is
    answered_at: float
    file: str | None  # None: the agent's leg is not known (the PBX did not say which file)
    started_at: float  # the file's start: the answer, or a consulted agent's answer of the consult
    paused_since: float | None = None  # offset from the recording's start
    pauses: list[tuple[float, float]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


Mute = Callable[[str, bool], Awaitable[None]]


class Recorder:
    """The runtime's record sink with the recordings' records added (``acd.ports.RecordSink``).

    ``recorded(queue)``: whether that queue records (the config in force). ``agent_leg(call_id)``:
    the agent's channel of a call in conversation; ``agent_uniqueid(call_id)``: that channel's
    Uniqueid, which names the file; ``handed_from(call_id, answered_at)``: the file of the stay answered
    then, when it was handed over while no ACD listened (the call's file is the consulted agent's
    now); ``mute(channel, muted)``: MixMonitorMute on it (all None without
    a PBX: pauses are refused, no file is looked for). ``settle_seconds``: how long to wait for the PBX
    to close a file after the stay's end.
    """

    def __init__(
        self,
        sink: RecordSink,
        directory: Path,
        *,
        recorded: Callable[[str], bool],
        agent_leg: Callable[[str], str | None] | None = None,
        agent_uniqueid: Callable[[str], str | None] | None = None,
        recording_started: Callable[[str], float | None] | None = None,
        handed_from: Callable[[str, float], str | None] | None = None,
        paused_at: Callable[[str], float | None] | None = None,
        mute: Mute | None = None,
        keep_pause: Callable[[str, str], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
        settle_seconds: float = 15.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self._sink = sink
        self.directory = directory
        self._recorded = recorded
        self._agent_leg = agent_leg
        self._agent_uniqueid = agent_uniqueid
        self._recording_started = recording_started
        self._handed_from = handed_from
        self._paused_at = paused_at
        self._keep_pause = keep_pause
        self._mute = mute
        self._clock = clock
        self._settle = settle_seconds
        self._poll = poll_seconds
        self._live: dict[str, _Live] = {}
        self._superseded: dict[tuple[str, float], _Live] = {}  # (caller Uniqueid, answered at): a stay's, closing
        self._tasks: set[asyncio.Task[None]] = set()

    def append(self, record: Record) -> None:
        self._sink.append(record)
        if isinstance(record, InteractionRecord) and record.answered_at is not None:
            self._seen(record, record.answered_at)

    def recording(self, call_id: str) -> bool:
        """Whether a recording runs for this call now."""
        return call_id in self._live

    def paused(self, call_id: str) -> bool:
        live = self._live.get(call_id)
        return live is not None and live.paused_since is not None

    def _seen(self, record: InteractionRecord, answered_at: float) -> None:
        call_id = record.interaction_id
        if record.ended_at is None:
            live = self._live.get(call_id)
            if live is not None and live.answered_at != answered_at:
                # a new stay answered before the last one's close came by (an attended transfer's
                # handover): that one's recording waits for its close apart
                self._superseded[(live.uniqueid, live.answered_at)] = self._live.pop(call_id)
            if call_id not in self._live and self._recorded(record.queue):
                # the first agent's stay of a call handed over while no ACD listened has its own file
                agent = self._handed_from(call_id, answered_at) if self._handed_from is not None else None
                handed = agent is not None
                if agent is None and self._agent_uniqueid is not None:
                    agent = self._agent_uniqueid(call_id)
                began = self._recording_started(call_id) if self._recording_started is not None else None
                began = None if handed else began
                started = answered_at if began is None or began > answered_at else began
                live = _Live(record.uniqueid, answered_at, file_name(agent or ""), started)
                # a pause that ran when the ACD restarted (the agent leg's ACD_PAUSED_AT): it goes on
                paused = None if handed or self._paused_at is None else self._paused_at(call_id)
                if paused is not None:
                    live.paused_since = max(0.0, min(paused, self._clock()) - started)
                self._live[call_id] = live
            return
        live = self._live.get(call_id)
        live = self._live.pop(call_id) if live is not None and live.answered_at == answered_at else None
        if live is None:
            live = self._superseded.pop((record.uniqueid, answered_at), None)
        if live is None:  # a stay closed by a transfer comes under its own id: the call's live stay
            call_id = next(
                (c for c, x in self._live.items() if (x.uniqueid, x.answered_at) == (record.uniqueid, answered_at)), ""
            )
            live = self._live.pop(call_id, None)
        if live is None:
            return
        stay_id = record.interaction_id
        if live.paused_since is not None:  # paused to the end: the silence runs to the end of the file
            live.pauses.append((live.paused_since, max(record.ended_at - live.started_at, live.paused_since)))
        for n, (start, end) in enumerate(live.pauses, 1):
            pause_id = str(uuid.uuid5(PAUSES, f"{stay_id}/{n}"))
            self._sink.append(RecordingPauseRecord(pause_id, stay_id, round(start, 3), round(end, 3)))
        if live.file is None:
            log.warning("stay %s: recorded, but its file is not known (the agent's leg was not seen)", stay_id[:8])
            return
        task = asyncio.get_running_loop().create_task(self._finish(stay_id, live), name=f"recording-{stay_id[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, call_id: str, live: _Live) -> None:
        name = live.file
        assert name is not None
        path = self.directory / name
        seconds = None
        for _ in range(max(1, round(self._settle / self._poll))):
            seconds = await asyncio.to_thread(wav_seconds, path)
            if seconds is not None:
                break
            await asyncio.sleep(self._poll)
        if seconds is None:
            log.warning("call %s: no finished recording %s within %gs", call_id[:8], path, self._settle)
            return
        digest = await asyncio.to_thread(sha256_of, path)
        self._sink.append(RecordingRecord(call_id, name, live.started_at, round(seconds, 3), digest))

    async def pause(self, call_id: str, paused: bool) -> bool:
        """Pause (or resume) the recording of a call; False if it already was. Raises ``NotRecording``,
        ``NoAgentLeg``, or the PBX's refusal."""
        live = self._live.get(call_id)
        if live is None:
            raise NotRecording(call_id)
        async with live.lock:
            if (live.paused_since is not None) == paused:
                return False
            channel = self._agent_leg(call_id) if self._agent_leg is not None else None
            if channel is None or self._mute is None:
                raise NoAgentLeg(call_id)
            sent = self._clock()
            await self._mute(channel, paused)
            # the PBX mutes somewhere between the request and its answer: the midpoint is the best
            # guess of where the silence begins or ends in the file (the answer may come late on a
            # loaded machine; the time after it alone would place the pause too late)
            offset = max(0.0, (sent + self._clock()) / 2 - live.started_at)
            if paused:
                live.paused_since = offset
            elif live.paused_since is not None:
                live.pauses.append((live.paused_since, offset))
                live.paused_since = None
            await self._keep(call_id, channel, "" if not paused else f"{live.started_at + offset:.6f}")
            return True

    async def _keep(self, call_id: str, channel: str, value: str) -> None:
        """The pause (its epoch, or empty) on the agent's leg, for a restarted ACD: if that fails, the
        pause is made all the same (a restart then loses its record, as before)."""
        if self._keep_pause is None:
            return
        try:
            await self._keep_pause(channel, value)
        except Exception as exc:
            log.warning("call %s: the recording's pause not kept on the agent's leg: %r", call_id[:8], exc)

    def pause_soon(self, call_id: str, action: str) -> None:
        """A feature code from the agent's phone (``pause`` or ``resume``): carried out in the background."""

        async def run() -> None:
            try:
                await self.pause(call_id, action == "pause")
            except Exception as exc:  # not recording, or the PBX refused: the log says so
                log.warning("call %s: recording %s from the phone not done: %r", call_id[:8], action, exc)

        task = asyncio.get_running_loop().create_task(run(), name=f"recording-{action}-{call_id[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def discard_soon(self, call_id: str, uniqueid: str) -> None:
        """A consult that went back to the caller: the consulted agent's file belongs to no stay (docs/records.md,
        "Recordings"), so it is deleted once the PBX has closed it; no file is left without a row."""
        name = file_name(uniqueid)
        if name is None:
            return
        path = self.directory / name

        async def run() -> None:
            for _ in range(max(1, round(self._settle / self._poll))):
                if await asyncio.to_thread(wav_seconds, path) is not None:
                    break
                await asyncio.sleep(self._poll)
            try:
                await asyncio.to_thread(path.unlink)
            except FileNotFoundError:
                return
            except OSError as exc:
                log.warning("call %s: consult recording %s not deleted: %r", call_id[:8], name, exc)

        task = asyncio.get_running_loop().create_task(run(), name=f"recording-discard-{call_id[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 3.0) -> None:  # noqa: ASYNC109
        """Let the files of calls just ended be recorded (at shutdown, before the outbox stops): the PBX
        closes a file within moments of the hangup, so a short wait; what is still missing then is left
        (its file stays on the PBX, with no row)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
