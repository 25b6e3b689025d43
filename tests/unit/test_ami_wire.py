"""The AMI framing: chunk boundaries, banner, repeated headers, action encoding."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.ami.wire import FrameDecoder, encode_action, parse_block

TRACE = (Path(__file__).parent.parent / "data" / "ami" / "call_answered.txt").read_text().replace("\n", "\r\n").encode()
WHOLE = FrameDecoder().feed(TRACE)


@given(st.lists(st.integers(min_value=0, max_value=len(TRACE)), max_size=40))
def test_any_chunking_yields_the_same_messages(cuts: list[int]) -> None:
    decoder = FrameDecoder()
    edges = [0, *sorted(cuts), len(TRACE)]
    got = [m for a, b in itertools.pairwise(edges) for m in decoder.feed(TRACE[a:b])]
    assert got == WHOLE
    assert decoder.banner == "Asterisk Call Manager/9.0.0"


def test_multibyte_character_split_across_reads() -> None:
    data = "Event: UserEvent\r\nAcdCaller: Zoë\r\n\r\n".encode()
    cut = data.index(b"\xc3") + 1
    decoder = FrameDecoder()
    decoder._awaiting_banner = False
    assert decoder.feed(data[:cut]) == []
    assert decoder.feed(data[cut:]) == [{"Event": "UserEvent", "AcdCaller": "Zoë"}]


def test_repeated_header_keeps_the_first_value_never_a_list() -> None:
    msg = parse_block("Event: UserEvent\r\nPriority: 4\r\nUserEvent: X\r\nPriority: 9\r\nValue:")
    assert msg == {"Event": "UserEvent", "Priority": "4", "UserEvent": "X", "Value": ""}


def test_block_without_event_or_response_is_counted() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"Asterisk Call Manager/9.0.0\r\nFoo: bar\r\n\r\nEvent: A\r\n\r\n") == [{"Event": "A"}]
    assert decoder.malformed == 1


def test_encode_action_puts_action_first_and_repeats_list_values() -> None:
    wire = encode_action({"Variable": ["A=1", "B=2"], "Action": "Originate", "Timeout": 30})
    assert wire == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nTimeout: 30\r\n\r\n"


@pytest.mark.parametrize("value", ["x\r\nAction: Hangup", "x\nY: z"])
def test_encode_action_refuses_header_injection(value: str) -> None:
    with pytest.raises(ValueError):
        encode_action({"Action": "Setvar", "Value": value})


def _no_banner(max_frame: int = 1024) -> FrameDecoder:
    decoder = FrameDecoder(max_frame=max_frame)
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\n")
    return decoder


def test_a_frame_that_never_ends_is_dropped_counted_and_the_next_one_read() -> None:
    decoder = _no_banner(max_frame=1024)
    for _ in range(200):  # 200 KiB of one frame with no blank line, in 1 KiB reads
        assert decoder.feed(b"AcdCaller: " + b"9" * 1013 + b"\r\n") == []
    assert decoder.oversize == 1
    assert decoder._held_len <= 1024  # memory stays bounded while the frame goes on
    got = decoder.feed(b"\r\n\r\nEvent: Hangup\r\nUniqueid: 1.1\r\n\r\n")
    assert got == [{"Event": "Hangup", "Uniqueid": "1.1"}]
    assert decoder.oversize == 1 and decoder.malformed == 0


def test_a_blank_line_split_across_reads_still_ends_the_frame() -> None:
    data = b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\nEvent: Hangup\r\nUniqueid: 1.2\r\n\r\n"
    for cut in range(len(data)):
        decoder = _no_banner()
        got = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        assert [m["Uniqueid"] for m in got] == ["1.1", "1.2"], cut


def test_a_repeated_acd_header_is_noted_for_the_translator() -> None:
    msg = parse_block("Event: UserEvent\r\nUserEvent: AcdEnqueue\r\nAcdQueue: support\r\nAcdQueue: billing")
    assert msg is not None and msg["AcdQueue"] == "support" and msg["X-Acd-Repeated"] == "AcdQueue"
