"""``AmiSession.submit`` writes the action's bytes itself: what cannot be written fails as the AMI adapter's
own errors (the callers handle those), and a header named twice up to case is refused before any byte."""

from __future__ import annotations

from typing import Any

import pytest

from acd.ami.errors import AmiActionError, AmiDisconnected
from acd.ami.session import AmiSession, LinkCounters
from acd.ami.wire import check_action


class _Transport:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.written: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        if self.fails:
            raise RuntimeError("handler is closed")
        self.written.append(data)


def _session(transport: _Transport) -> Any:
    session = AmiSession(LinkCounters(), lambda m: None, lambda s: None, lambda r: None)
    session.transport = transport
    session.encoding = "ascii"
    return session


def test_a_header_named_twice_up_to_case_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        check_action({"Action": "Redirect", "Channel": "PJSIP/a-1", "channel": "PJSIP/b-2"})


async def test_a_write_that_fails_is_a_disconnect_and_a_value_that_cannot_be_encoded_an_action_error() -> None:
    with pytest.raises(AmiDisconnected):
        _session(_Transport(fails=True)).submit({"Action": "Ping"}, 1.0)
    transport = _Transport()
    with pytest.raises(AmiActionError):
        _session(transport).submit({"Action": "Setvar", "Value": "caf\u00e9"}, 1.0)
    assert transport.written == []
