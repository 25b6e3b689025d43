"""The AMI wire format: bytes in, header maps out; actions checked (and encoded). No sockets, no asyncio.

The link sends actions through panoramisk (``acd.ami.session``) but reads with this framing.
Why our own framing instead of panoramisk's ``Message.from_line``: panoramisk turns a repeated
header into a list (a UserEvent header called ``Priority`` collides with the dialplan's own
``Priority`` and breaks every ``str`` consumer), silently drops blocks that are neither an event
nor a response (so nothing can count them), and wraps every message in a case-insensitive dict that
costs more than the parse itself. Here a message is a plain ``dict[str, str]``; a repeated header
keeps its FIRST value, which for a UserEvent is the channel-snapshot header Asterisk writes before
the user's own headers. A repeated ``Acd*`` header cannot come from the dialplan (Asterisk keeps a
UserEvent's fields in one JSON object); it means fields were smuggled in, so its name is noted under
``REPEATED`` for the translator to refuse the message.

A frame that never ends (no blank line within ``MAX_FRAME`` characters) is dropped and counted, and
the decoder skips to the next blank line: its memory stays bounded and each byte is scanned once.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence

EOL = "\r\n"
END = "\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
MAX_FRAME = 64 * 1024
"""Characters one message may take. Asterisk's longest (a CoreShowChannel, a full UserEvent) take ~2 KiB."""
REPEATED = "X-Acd-Repeated"
"""Set on a message in which an ``Acd*`` header came more than once: the names, comma-separated."""

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
        elif key.startswith("Acd"):
            msg[REPEATED] = f"{msg[REPEATED]},{key}" if REPEATED in msg else key
    if "Event" in msg or "Response" in msg:
        return msg
    return None


class FrameDecoder:
    """Incremental decoder for one connection: feed raw bytes, get complete messages in order.

    Asterisk opens with a one-line banner (``Asterisk Call Manager/9.0.0``) that is not
    terminated by a blank line, so it is peeled off first. UTF-8 is decoded incrementally, so a
    character split across two TCP reads survives; undecodable bytes become U+FFFD rather than
    an exception in the middle of the read loop. A frame's pieces are held as they came and
    joined once, when its blank line arrives; only the new bytes (and the last three characters
    before them) are searched for it.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_frame = max_frame
        self._held: list[str] = []  # the pieces of the frame under way
        self._held_len = 0
        self._tail = ""  # the last len(END) - 1 characters seen: a blank line may straddle two reads
        self._skipping = False  # the frame under way outgrew max_frame: drop it up to its end
        self._awaiting_banner = True
        self.banner = ""
        self.malformed = 0
        self.oversize = 0  # frames dropped for outgrowing max_frame

    def feed(self, data: bytes) -> list[Message]:
        text = self._decoder.decode(data)
        if self._awaiting_banner:
            text = self._banner(text)
        out: list[Message] = []
        pos = 0
        while pos < len(text):
            end = -1
            tail = self._tail
            if tail:  # a blank line that began in the last read
                k = (tail + text[pos : pos + len(END) - 1]).find(END)
                if 0 <= k < len(tail):
                    end = pos + k + len(END) - len(tail)
            if end < 0:
                found = text.find(END, pos)
                end = found + len(END) if found >= 0 else -1
            if end < 0:
                self._hold(text[pos:])
                break
            self._hold(text[pos:end])
            pos = end
            block = "".join(self._held)[: -len(END)]
            skipped, self._skipping = self._skipping, False
            self._held, self._held_len, self._tail = [], 0, ""
            if skipped:
                continue
            msg = parse_block(block)
            if msg is not None:
                out.append(msg)
            elif block.strip():
                self.malformed += 1
        return out

    def _banner(self, text: str) -> str:
        """Peel the banner line off the start of the stream; what follows it is returned."""
        self._held.append(text)
        joined = "".join(self._held)
        head, sep, rest = joined.partition(EOL)
        if not sep and len(joined) <= self._max_frame:
            self._held = [joined]
            return ""
        self._held = []
        self._awaiting_banner = False
        if sep and head.startswith(BANNER_PREFIX):
            self.banner = head
            return rest
        return joined

    def _hold(self, piece: str) -> None:
        self._tail = (self._tail + piece)[-(len(END) - 1) :]
        if self._skipping:
            return
        self._held.append(piece)
        self._held_len += len(piece)
        if self._held_len > self._max_frame:
            self.oversize += 1
            self._skipping = True
            self._held, self._held_len = [], 0


def check_action(action: Mapping[str, ActionValue]) -> None:
    """Refuse an action whose header names or values carry a line break (or a name a colon).

    A CR or LF inside a value would let one field smuggle extra headers (or a whole second
    action) onto the link, so it is refused here rather than trusted upstream; panoramisk writes
    values as they are. A header named twice up to case (``Channel`` and ``channel``) is refused too:
    Asterisk would read only one of them, and which one the writer does not say.
    """
    names: set[str] = set()
    for key, value in action.items():
        if "\r" in key or "\n" in key or ":" in key:
            raise ValueError(f"AMI header name {key!r} carries a line break or colon")
        if key.lower() in names:
            raise ValueError(f"AMI header {key!r} named twice (up to case)")
        names.add(key.lower())
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
