"""The AMI wire format: bytes in, header maps out; actions checked (and encoded). No sockets, no asyncio.

The link sends actions through panoramisk (``acd.ami.session``) but reads with this framing.
Why our own framing instead of panoramisk's ``Message.from_line``: panoramisk turns a repeated
header into a list (a UserEvent header called ``Priority`` collides with the dialplan's own
``Priority`` and breaks every ``str`` consumer), silently drops blocks that are neither an event
nor a response (so nothing can count them), and wraps every message in a case-insensitive dict that
costs more than the parse itself. Here a message is a plain ``dict[str, str]``; a repeated header
keeps its FIRST value, which for a UserEvent is the channel-snapshot header Asterisk writes before
the user's own headers.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence

EOL = "\r\n"
END = "\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"

Message = dict[str, str]
"""One AMI event or response: header name (as Asterisk spells it) to value."""

ActionValue = str | int | float | Sequence[str]


def parse_block(block: str) -> Message | None:
    """Parse one message block (no trailing blank line). ``None`` if it is neither event nor response."""
    msg: Message = {}
    for line in block.split(EOL):
        key, sep, value = line.partition(": ")
        if not sep:
            if not line.endswith(":"):
                continue  # a stray line (old ``Command`` output): not a header
            key, value = line[:-1], ""
        if key not in msg:
            msg[key] = value
    if "Event" in msg or "Response" in msg:
        return msg
    return None


class FrameDecoder:
    """Incremental decoder for one connection: feed raw bytes, get complete messages in order.

    Asterisk opens with a one-line banner (``Asterisk Call Manager/9.0.0``) that is not
    terminated by a blank line, so it is peeled off first. UTF-8 is decoded incrementally, so a
    character split across two TCP reads survives; undecodable bytes become U+FFFD rather than
    an exception in the middle of the read loop.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._awaiting_banner = True
        self.banner = ""
        self.malformed = 0

    def feed(self, data: bytes) -> list[Message]:
        text = self._buffer + self._decoder.decode(data)
        if self._awaiting_banner:
            head, sep, rest = text.partition(EOL)
            if not sep:
                self._buffer = text
                return []
            self._awaiting_banner = False
            if head.startswith(BANNER_PREFIX):
                self.banner = head
                text = rest
        blocks = text.split(END)
        self._buffer = blocks.pop()
        out: list[Message] = []
        for block in blocks:
            msg = parse_block(block)
            if msg is not None:
                out.append(msg)
            elif block.strip():
                self.malformed += 1
        return out


def check_action(action: Mapping[str, ActionValue]) -> None:
    """Refuse an action whose header names or values carry a line break (or a name a colon).

    A CR or LF inside a value would let one field smuggle extra headers (or a whole second
    action) onto the link, so it is refused here rather than trusted upstream; panoramisk writes
    values as they are.
    """
    for key, value in action.items():
        if "\r" in key or "\n" in key or ":" in key:
            raise ValueError(f"AMI header name {key!r} carries a line break or colon")
        for item in [value] if isinstance(value, str | int | float) else list(value):
            text = str(item)
            if "\r" in text or "\n" in text:
                raise ValueError(f"AMI header {key!r} carries a line break")


def encode_action(action: Mapping[str, ActionValue]) -> bytes:
    """Serialise an action, ``Action`` first. A list value repeats the header (``Variable``).

    The link sends through panoramisk; this is for tools that write actions themselves (the
    loopback server's tests, the benchmarks). Values are checked as ``check_action`` does.
    """
    check_action(action)
    lines: list[str] = []
    for key, value in sorted(action.items(), key=lambda kv: kv[0].lower() != "action"):
        values = [value] if isinstance(value, str | int | float) else list(value)
        lines.extend(f"{key}: {item}" for item in values)
    return (EOL.join(lines) + END).encode("utf-8")
