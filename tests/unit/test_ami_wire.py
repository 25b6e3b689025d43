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
