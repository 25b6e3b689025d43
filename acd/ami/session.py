"""One TCP session with Asterisk: framing, ActionID matching, and the event hand-off.

A session lives exactly as long as its socket. Every action waiting for a reply belongs to the
session that sent it; when the socket goes, they all fail with ``AmiDisconnected`` and are then
forgotten. That is the whole fix for panoramisk's "pending actions are resent after reconnect"
trap: there is no list that outlives the connection, so nothing can be replayed into a new one
(a replayed ``Redirect`` could move a caller the ACD has since given to someone else).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import cast

from acd.ami.errors import AmiActionError, AmiDisconnected, AmiTimeout
from acd.ami.wire import ActionValue, FrameDecoder, Message, encode_action

log = logging.getLogger(__name__)

_SUCCESS = frozenset({"Success", "Follows", "Goodbye"})


@dataclass(slots=True)
class LinkCounters:
    """Plain counters, live across reconnects; the runtime exports them to Prometheus."""

    events_received: int = 0
    malformed: int = 0
    orphan_replies: int = 0
    connects: int = 0
    reconnects: int = 0
    ping_timeouts: int = 0


@dataclass(slots=True)
class _Pending:
    name: str
    future: asyncio.Future[Message | list[Message]]
    complete_event: str | None = None
    items: list[Message] = field(default_factory=list)
    on_success: Callable[[Message], None] | None = None


class AmiSession(asyncio.Protocol):
    """asyncio protocol for one connection. The link owns sessions; nothing else touches them.

    Events go to ``on_event`` synchronously, inside ``data_received``, so their order on the
    wire is their order in the link's queue. Replies resolve futures. A reply whose ActionID
    nobody waits for any more (its caller timed out) is counted and dropped.
    """

    def __init__(
        self, counters: LinkCounters, on_event: Callable[[Message], None], on_lost: Callable[[str], None]
    ) -> None:
        self._counters = counters
        self._on_event = on_event
        self._on_lost = on_lost
        self._decoder = FrameDecoder()
        self._pending: dict[str, _Pending] = {}
        self._transport: asyncio.Transport | None = None
        self._abort_reason = ""
        self.logged_in = False
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's does not subclass asyncio.Transport, but has its methods)
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        decoder = self._decoder
        malformed = decoder.malformed
        messages = decoder.feed(data)
        self._counters.malformed += decoder.malformed - malformed
        for msg in messages:
            action_id = msg.get("ActionID")
            pending = self._pending.get(action_id) if action_id is not None else None
            if pending is not None and self._reply(action_id or "", pending, msg):
                continue
            if "Event" in msg:
                if self.logged_in:
                    self._on_event(msg)
            else:
                self._counters.orphan_replies += 1

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self._abort_reason or (f"connection lost: {exc}" if exc else "closed by Asterisk")
        self.logged_in = False
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(AmiDisconnected(f"{p.name}: {reason}"))
        if not self.closed.done():
            self.closed.set_result(reason)
        self._on_lost(reason)

    # -- replies ----------------------------------------------------------------------------
    def _reply(self, action_id: str, p: _Pending, msg: Message) -> bool:
        """Feed a message carrying a pending ActionID. False: not part of the reply, an event."""
        response = msg.get("Response")
        if response is not None:
            if response not in _SUCCESS:
                del self._pending[action_id]
                if not p.future.done():
                    p.future.set_exception(AmiActionError(p.name, msg))
            elif p.complete_event is None:
                del self._pending[action_id]
                if p.on_success is not None:
                    p.on_success(msg)
                if not p.future.done():
                    p.future.set_result(msg)
            return True
        if p.complete_event is None:
            return False  # e.g. OriginateResponse: a real event that happens to carry our id
        if msg.get("Event") == p.complete_event:
            del self._pending[action_id]
            if not p.future.done():
                p.future.set_result(p.items)
        else:
            p.items.append(msg)
        return True

    # -- sending ----------------------------------------------------------------------------
    @property
    def banner(self) -> str:
        return self._decoder.banner

    async def request(
        self,
        action: Mapping[str, ActionValue],
        timeout: float,  # noqa: ASYNC109 - expiry must unregister the ActionID, see AmiLink.send
        *,
        complete_event: str | None = None,
        on_success: Callable[[Message], None] | None = None,
    ) -> Message | list[Message]:
        """Send one action and wait for its reply (or its event list up to ``complete_event``)."""
        return await self.submit(action, timeout, complete_event=complete_event, on_success=on_success)

    def submit(
        self,
        action: Mapping[str, ActionValue],
        timeout: float,
        *,
        complete_event: str | None = None,
        on_success: Callable[[Message], None] | None = None,
    ) -> Coroutine[None, None, Message | list[Message]]:
        """Write the action now; return the wait for its reply, which the caller must await.

        Writing before the first ``await`` is what lets the ACD put a ring on the wire in the same
        step that decided it, ahead of everything else that decision produced.
        """
        if self._transport is None or self._transport.is_closing():
            raise AmiDisconnected("not connected")
        name = str(action.get("Action", "?"))
        action_id = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        p = _Pending(name, loop.create_future(), complete_event, on_success=on_success)
        data = encode_action({**action, "ActionID": action_id})
        self._pending[action_id] = p
        self._transport.write(data)
        return self._await_reply(action_id, p, timeout)

    async def _await_reply(
        self, action_id: str, p: _Pending, timeout: float  # noqa: ASYNC109
    ) -> Message | list[Message]:
        try:
            return await asyncio.wait_for(p.future, timeout)
        except TimeoutError:
            raise AmiTimeout(f"{p.name}: no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(action_id, None)

    def abort(self, reason: str) -> None:
        """Drop the socket now (no FIN handshake: a half-open peer would never answer it)."""
        if not self._abort_reason:
            self._abort_reason = reason
        if self._transport is not None:
            self._transport.abort()
