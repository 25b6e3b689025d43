"""The names callers record taking a callback (acd.callback_names; docs/dialplan.md, "Callbacks"):
filed under the callback's id the ACD wrote onto the channel, passed to the agent's whisper only when
the caller said something, deleted when the callback closes or per retention."""

from __future__ import annotations

import math
import os
import struct
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest

from acd.ami.callback_ring import callback_action
from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.identity import call_id_for, closed_callback_id
from acd.callback_names import CallbackNames, loud_seconds
from acd.core.commands import OfferCallback, OverflowCall, RingAgent
from acd.core.record_types import InteractionRecord, Record
from acd.ports import NotCarriedOut

CALL = call_id_for("1.1")


def wav(samples: list[int], rate: int = 8000) -> bytes:
    data = struct.pack(f"<{len(samples)}h", *samples)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def tone(seconds: float, hz: float = 440.0, level: int = 4000, rate: int = 8000) -> list[int]:
    return [round(level * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(seconds * rate))]


def quiet(seconds: float, level: int = 30, rate: int = 8000) -> list[int]:
    return [level if n % 2 else -level for n in range(int(seconds * rate))]


def test_a_tone_is_speech_and_a_quiet_line_is_none() -> None:
    assert abs(loud_seconds(wav(quiet(0.5) + tone(1.5) + quiet(1.0))) - 1.5) < 0.05
    assert loud_seconds(wav(quiet(3.0))) == 0.0
    assert loud_seconds(b"RIFF....WAVEjunk") == 0.0 and loud_seconds(b"") == 0.0


def test_spoken_reads_the_file_of_the_callback_id_only(tmp_path: Path) -> None:
    names = CallbackNames(tmp_path)
    said, silent = str(uuid.uuid4()), str(uuid.uuid4())
    (tmp_path / f"{said}.wav").write_bytes(wav(quiet(0.3) + tone(1.0) + quiet(1.0)))
    (tmp_path / f"{silent}.wav").write_bytes(wav(quiet(1.0)))
    assert names.spoken(said)
    assert not names.spoken(silent)  # said nothing: the whisper falls back to the number
    assert not names.spoken(str(uuid.uuid4()))  # none recorded
    assert names.path("../" + said) is None and not names.spoken(f"../{said}")


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def append(self, record: Record) -> None:
        self.records.append(record)


def test_the_name_is_deleted_when_the_callback_closes(tmp_path: Path) -> None:
    names = CallbackNames(tmp_path)
    file = tmp_path / f"{CALL}.wav"
    file.write_bytes(wav(tone(1.0)))
    sink = Sink()
    watched = names.watching(sink)
    pending = InteractionRecord(CALL, 2, "billing", 5, "641", 100.0, end_reason="callback")
    watched.append(pending)
    assert file.exists()  # still waiting for an agent
    closed = InteractionRecord(CALL, 3, "billing", 5, "641", 100.0, outcome="answered", end_reason="callback")
    watched.append(closed)
    assert not file.exists()
    assert sink.records == [pending, closed]  # every record passed on


def test_names_left_over_are_swept_per_retention(tmp_path: Path) -> None:
    names = CallbackNames(tmp_path)
    old, new = tmp_path / f"{uuid.uuid4()}.wav", tmp_path / f"{uuid.uuid4()}.wav"
    other = tmp_path / "keep.wav"
    for path in (old, new, other):
        path.write_bytes(wav(tone(0.1)))
    os.utime(old, (1000.0, 1000.0))
    os.utime(other, (1000.0, 1000.0))
    assert names.sweep(86400.0) == 1
    assert not old.exists() and new.exists() and other.exists()  # only files named as the ACD names them
    assert CallbackNames(tmp_path / "none").sweep(1.0) == 0


def test_the_whisper_gets_the_name_only_as_a_callback_id() -> None:
    action = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", "billing", name=CALL)
    assert action["Variable"][-1] == f"ACD_CB_NAME={CALL}"
    for bad in ("", "x", "../etc/passwd", CALL + ",1"):
        action = callback_action("agent1", "6512345678", "offer-1", 8.0, "a-1", "billing", name=bad)
        assert not [v for v in action["Variable"] if v.startswith("ACD_CB_NAME=")]


class Link:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, object]] = []

    def submit(self, action: Mapping[str, object], timeout: float | None = None) -> object:
        self.sent.append(action)
        return self._ok()

    async def _ok(self) -> dict[str, str]:
        return {"Response": "Success"}

    def setvars(self) -> dict[str, str]:
        return {str(a["Variable"]): str(a["Value"]) for a in self.sent if a["Action"] == "Setvar"}


def _control(link: Link) -> AmiCallControl:
    control = AmiCallControl(link)  # type: ignore[arg-type]
    control.book.add(CallerLeg(CALL, "1.1", "PJSIP/trunk-1", "billing", 5))
    return control


async def test_the_acd_names_the_file_before_the_caller_is_asked() -> None:
    link = Link()
    control = _control(link)
    await control.send(OfferCallback(CALL, 30.0))  # holding: the callback keeps the caller's call id
    assert link.setvars()["ACD_CB_NAME"] == CALL
    link.sent.clear()
    await control.send(OverflowCall(CALL, "callback", "closed"))  # closed: the id the callback will have
    assert link.setvars()["ACD_CB_NAME"] == closed_callback_id(CALL) != CALL
    link.sent.clear()
    await control.send(OverflowCall(CALL, "voicemail", "closed"))
    assert "ACD_CB_NAME" not in link.setvars()
    control.link_down()


class Originator:
    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send(self, action: dict[str, object]) -> None:
        self.sent.append(action)


async def test_the_agent_is_rung_with_the_name_only_when_the_caller_said_one(tmp_path: Path) -> None:
    originator = Originator()
    control = AmiCallControl(Link(), originator=originator, callback_names=CallbackNames(tmp_path))  # type: ignore[arg-type]
    said, silent = str(uuid.uuid4()), str(uuid.uuid4())
    (tmp_path / f"{said}.wav").write_bytes(wav(tone(1.0)))
    (tmp_path / f"{silent}.wav").write_bytes(wav(quiet(1.0)))
    for call_id in (said, silent):
        await control.ring_callback(RingAgent("o1", call_id, "a1", "agent1", 8.0, callback="641", queue="billing"))
    named = [[v for v in a["Variable"] if str(v).startswith("ACD_CB_NAME=")] for a in originator.sent]  # type: ignore[attr-defined]
    assert named == [[f"ACD_CB_NAME={said}"], []]
    control.link_down()


def test_a_closed_queues_callback_id_is_made_by_the_acd_from_the_call() -> None:
    assert closed_callback_id(CALL) == closed_callback_id(CALL)
    assert uuid.UUID(closed_callback_id(CALL)).version == 5
    assert closed_callback_id(call_id_for("1.2")) != closed_callback_id(CALL)


async def test_a_leaders_callback_ring_carries_its_epoch_and_none_is_sent_once_it_no_longer_leads(
    tmp_path: Path,
) -> None:
    """docs/dialplan.md, "Fencing": the ring carries ACD_OFFER_EPOCH; past the deadline nothing is sent."""
    originator = Originator()
    control = AmiCallControl(Link(), originator=originator, callback_names=CallbackNames(tmp_path))  # type: ignore[arg-type]
    leading = [True]
    control.epoch, control.may_act = 4, lambda: leading[0]
    ring = RingAgent("o1", str(uuid.uuid4()), "a1", "agent1", 8.0, callback="641", queue="billing")
    await control.ring_callback(ring)
    assert "ACD_OFFER_EPOCH=4" in originator.sent[0]["Variable"]  # type: ignore[operator]
    leading[0] = False
    with pytest.raises(NotCarriedOut):
        await control.send(ring)
    assert len(originator.sent) == 1
    control.link_down()
