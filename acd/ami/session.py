"""One AMI connection, on panoramisk's ``Manager`` and ``AMIProtocol``, with panoramisk's traps shut.

panoramisk 1.4 does the connection (``Manager.connect``), the Login, the ActionIDs and the reply
bookkeeping: an ``Action`` is resolved by its ``Response``, or, for a list action, by the events up
to the one whose name ends in ``Complete``. What it gets wrong, and what this module does about it:

- **Pending actions are sent again after a reconnect** (``AMIProtocol.close`` parks them in
  ``Manager.awaiting_actions``; ``FullyBooted`` replays them). A replayed ``Redirect`` can move a
  caller the ACD has since given to someone else. Here ``close`` fails every pending action with
  ``AmiDisconnected`` and forgets it; the park list is never filled.
- **Ping never checks the reply**, so a half-open link looks healthy for minutes. ``Manager.ping``
  does nothing here; ``AmiLink``'s watchdog pings with a deadline and drops a silent link.
- **It reconnects on its own**, every ``reconnect_timeout`` seconds, with no backoff, even after a
  refused Login. Here a connection that ends stays ended; ``AmiLink`` decides when to try again.
- **A reply that never comes stays in ``responses`` for ever.** ``request`` gives every action a
  deadline (``AmiTimeout``) and removes it; a late reply is counted as an orphan and dropped.
- **Event callbacks run as detached tasks** (``Manager.dispatch``), which gives up arrival order.
  Events are handed on synchronously, inside ``data_received``, in wire order.
- **Framing** (``Message.from_line``): a repeated header becomes a list (a UserEvent header
  ``Priority`` collides with the dialplan's), a block that is neither event nor response is dropped
  without a trace, and each TCP read is decoded on its own with ``errors='ignore'``, which eats a
  UTF-8 character split across two reads. ``acd.ami.wire.FrameDecoder`` frames instead; replies are
  handed to panoramisk as its ``Message`` so its ``Action`` bookkeeping resolves them, and events
  stay plain ``dict[str, str]`` (cheaper, and what the translator reads).
- **A CR or LF inside a value is written as is**, which lets one field smuggle in headers;
  ``wire.check_action`` refuses it before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, cast

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message as PanoramiskMessage

from acd.ami.errors import AmiActionError, AmiDisconnected, AmiTimeout
from acd.ami.wire import MAX_FRAME, ActionValue, FrameDecoder, Message, check_action
from acd.log_throttle import LogThrottle

log = logging.getLogger(__name__)
_quiet = LogThrottle(log)

_SUCCESS = frozenset({"Success", "Follows", "Goodbye"})


@dataclass(slots=True)
class LinkCounters:
    """Plain counters, live across reconnects; the runtime exports them to Prometheus."""

    events_received: int = 0
    malformed: int = 0
    oversize: int = 0  # frames dropped for never ending within the decoder's cap
    orphan_replies: int = 0
    connects: int = 0
    reconnects: int = 0
    ping_timeouts: int = 0


class AmiSession(AMIProtocol):  # type: ignore[misc]  # panoramisk has no type hints
    """panoramisk's protocol for one connection, with the framing and the close above.

    The link owns sessions; nothing else touches them. ``logged_in`` turns true inside
    ``data_received``, on the Login reply, before any event that follows it is handed on.
    """

    def __init__(
        self,
        counters: LinkCounters,
        on_event: Callable[[Message], None],
        on_login: Callable[[AmiSession], None],
        on_lost: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._counters = counters
        self._on_event = on_event
        self._on_login = on_login
        self._on_lost = on_lost
        self._decoder = FrameDecoder()
        self._abort_reason = ""
        self.logged_in = False
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol -------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        decoder = self._decoder
        malformed, oversize = decoder.malformed, decoder.oversize
        messages = decoder.feed(data)
        self._counters.malformed += decoder.malformed - malformed
        if decoder.oversize != oversize:
            self._counters.oversize += decoder.oversize - oversize
            _quiet.warning("oversize", "AMI: a frame longer than %d characters was dropped", MAX_FRAME)
        responses: dict[str, Action] = self.responses
        for msg in messages:
            action_id = msg.get("ActionID")
            action = responses.get(action_id) if action_id is not None else None
            if action is not None:
                self.handle_message(PanoramiskMessage(msg))  # resolves action.future when complete
                if not self.logged_in and action.get("Action", "").lower() == "login":
                    self._login_answered(msg)
            elif "Event" in msg:
                if self.logged_in:
                    self._on_event(msg)
            else:
                self._counters.orphan_replies += 1

    def _login_answered(self, reply: Message) -> None:
        if reply.get("Response") == "Success":
            self.logged_in = True
            self._on_login(self)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self._abort_reason or (f"connection lost: {exc}" if exc else "closed by Asterisk")
        self.logged_in = False
        self._fail_pending(reason)
        self._close_transport()
        if self.factory is not None:
            self.factory.connection_lost(exc)
        if not self.ended.done():
            self.ended.set_result(reason)
        self._on_lost(reason)

    def close(self) -> None:
        """panoramisk calls this on a new connection and on loss: fail what is pending, resend nothing."""
        self._fail_pending(self._abort_reason or "connection replaced")
        self._close_transport()

    def _close_transport(self) -> None:
        if not getattr(self, "closed", True):  # panoramisk's flag, set False on connection_made
            self.closed = True
            self.transport.close()

    def _fail_pending(self, reason: str) -> None:
        pending: dict[str, Action] = getattr(self, "responses", {})
        for action in {id(a): a for a in pending.values()}.values():
            if not action.future.done():
                action.future.set_exception(AmiDisconnected(f"{action.get('Action', '?')}: {reason}"))
        pending.clear()

    # -- sending ----------------------------------------------------------------------------
    @property
    def banner(self) -> str:
        return self._decoder.banner

    def submit(
        self,
        action: Mapping[str, ActionValue],
        timeout: float,
        *,
        as_list: bool = False,
    ) -> Coroutine[None, None, Message | list[Message]]:
        """Write the action now; return the wait for its reply, which the caller must await.

        ``as_list``: a list action (CoreShowChannels…): the reply is its item events. Writing before
        the first ``await`` is what lets the ACD put a ring on the wire in the same step that
        decided it, ahead of everything else that decision produced.
        """
        transport = getattr(self, "transport", None)
        if transport is None or transport.is_closing():
            raise AmiDisconnected("not connected")
        check_action(action)
        # as_list None lets panoramisk tell a list from its first reply (EventList: start), which
        # also resolves an Error reply at once; False ends a plain action at its Response, so an
        # Originate's OriginateResponse reaches the event stream instead of being swallowed.
        kind = None if as_list else False
        # The bytes go out first, then panoramisk's bookkeeping (its ``Action``, a case-insensitive dict,
        # costs more than the write): the reply cannot be read before this returns to the event loop.
        action_id = next((str(v) for k, v in action.items() if k.lower() == "actionid"), None)
        if action_id is None:
            action_id = Action.action_id_generator()
        try:
            data = _encode(action, action_id, getattr(self, "encoding", "ascii"))
        except UnicodeError as exc:  # a value the link's encoding cannot carry: refused, nothing written
            name = str(action.get("Action", "?"))
            raise AmiActionError(name, {"Response": "Error", "Message": f"cannot be encoded: {exc}"}) from exc
        try:
            transport.write(data)
        except Exception as exc:  # a transport closed under us: the link is down for this action
            raise AmiDisconnected(f"write failed: {exc!r}") from exc
        pending = Action({**action, "ActionID": action_id}, as_list=kind)
        self.responses[action_id] = pending
        return self._await_reply(pending, pending.future, timeout, as_list)

    async def request(
        self,
        action: Mapping[str, ActionValue],
        timeout: float,  # noqa: ASYNC109 - expiry must unregister the ActionID, see AmiLink.send
        *,
        as_list: bool = False,
    ) -> Message | list[Message]:
        """Send one action and wait for its reply (or, ``as_list``, its item events)."""
        return await self.submit(action, timeout, as_list=as_list)

    async def _await_reply(
        self,
        action: Action,
        future: asyncio.Future[Any],
        timeout: float,  # noqa: ASYNC109
        as_list: bool,
    ) -> Message | list[Message]:
        name = str(action.get("Action", "?"))
        try:
            result = await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise AmiTimeout(f"{name}: no reply within {timeout:g} s") from None
        finally:
            self.responses.pop(action.id, None)
        replies = [_plain(m) for m in result] if isinstance(result, list) else [_plain(result)]
        first = replies[0]
        if "Response" in first and first["Response"] not in _SUCCESS:
            raise AmiActionError(name, first)
        if not as_list:
            return first
        return [m for m in replies[1:] if not m.get("Event", "").endswith("Complete")]

    def abort(self, reason: str) -> None:
        """Drop the socket now (no FIN handshake: a half-open peer would never answer it)."""
        if not self._abort_reason:
            self._abort_reason = reason
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.abort()


class AmiManager(Manager):  # type: ignore[misc]  # panoramisk has no type hints
    """panoramisk's ``Manager`` that connects and logs in when asked, and otherwise stays put.

    It never reconnects by itself, never pings blindly and never replays actions: those belong to
    ``AmiLink``. ``connect()`` returns the connecting task; ``authenticated_future`` is the Login.
    """

    def __init__(self, protocol_factory: Callable[[], AmiSession], **config: Any) -> None:
        super().__init__(protocol_factory=protocol_factory, ping_delay=3600, forgetable_actions=(), **config)

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # the link reports the failure and chooses when to try again
        super().connection_made(f)

    def login(self, future: asyncio.Future[Any]) -> bool:
        if future.cancelled() or future.exception() is not None:
            self.authenticated_future = None
            self.authenticated = False
            return False
        return cast(bool, super().login(future))

    def ping(self) -> None:
        """Disabled: the link's watchdog pings, and checks the Pong."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
        self.pinger = None
        self.awaiting_actions.clear()

    @property
    def session(self) -> AmiSession | None:
        return cast("AmiSession | None", self.protocol)


def _encode(action: Mapping[str, ActionValue], action_id: str, encoding: str) -> bytes:
    """An action's bytes as panoramisk writes them (``str(Action)``: headers sorted by name, a list value
    repeated, a blank line at the end), with its ActionID."""
    lines: list[str] = []
    for key, value in sorted(
        [*((k, v) for k, v in action.items() if k.lower() != "actionid"), ("ActionID", action_id)]
    ):
        if isinstance(value, list | tuple):
            lines.extend(f"{key}: {item}" for item in value)
        else:
            lines.append(f"{key}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode(encoding)


def _plain(message: Any) -> Message:
    """A panoramisk ``Message`` as the rest of the package sees messages: first value per header."""
    # panoramisk's Message also stores its body under "content"; that is not a header.
    return {str(k): (str(v[0]) if isinstance(v, list) else str(v)) for k, v in message.items() if k != "content"}
