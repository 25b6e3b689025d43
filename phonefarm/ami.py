"""A small, distrustful AMI client on top of panoramisk, for the phone farm and the e2e tests.

Why not panoramisk's ``Manager`` as it is: version 1.4 reconnects on its own and then sends again
every action that was pending when the link dropped, and an Originate without ``Async`` raises a
KeyError that drops the connection. A test harness wants the opposite: one connection, fail loudly
when it goes, never replay an action. So this wrapper disables reconnection, fails pending actions
on a drop, always stamps an ``ActionID``, forces ``Async: true`` on Originate, and keeps a numbered
history of events that tests can wait on without racing each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from panoramisk import Manager

log = logging.getLogger(__name__)

AmiEvent = dict[str, str]
"""An AMI event as plain headers. A repeated header keeps its last value."""

ActionValue = str | Sequence[str]


class AmiError(Exception):
    """The AMI link failed, or Asterisk refused an action."""


def to_event(message: Any) -> AmiEvent:
    """Plain headers from a panoramisk ``Message``; a repeated header keeps its last value."""
    out: AmiEvent = {}
    for key, value in message.items():
        out[str(key)] = str(value[-1]) if isinstance(value, list) and value else str(value)
    return out


class AmiClient:
    """One AMI login. ``connect()``, then ``action()``, ``wait_event()``; ``close()`` at the end."""

    _ids = itertools.count(1)

    def __init__(
        self, host: str, port: int, username: str, secret: str, *, name: str = "ami", history: int = 20000
    ) -> None:
        self.host, self.port, self.username, self.name = host, port, username, name
        self._secret = secret
        self._manager: Any = None
        self._history: deque[tuple[int, AmiEvent]] = deque(maxlen=history)
        self._seq = 0
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[AmiEvent], None]] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self.connected = False
        self.lost: BaseException | None = None

    async def connect(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Connect and log in. Raises ``AmiError`` (refused, timed out or bad credentials)."""
        manager: Any = Manager(
            loop=asyncio.get_running_loop(),
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self._secret,
            events="on",
            ping_delay=86400,
            ping_interval=86400,
        )
        original_made = manager.connection_made

        def connection_made(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and future.exception() is None:  # else: no reconnect loop
                original_made(future)

        manager.connection_made = connection_made
        manager.connection_lost = self._connection_lost
        manager.register_event("*", self._on_event)
        self._manager = manager
        try:
            await asyncio.wait_for(manager.connect(), timeout)
            login = manager.authenticated_future
            if login is not None:
                await asyncio.wait_for(login, timeout)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise AmiError(f"{self.name}: cannot reach AMI at {self.host}:{self.port}: {exc!r}") from exc
        if not manager.authenticated:
            self.close()
            raise AmiError(f"{self.name}: login as {self.username!r} refused")
        self.connected = True
        log.debug("%s: logged in to %s:%s", self.name, self.host, self.port)

    def close(self) -> None:
        """Close the link; pending actions fail. Safe to call twice."""
        self.connected = False
        if self._manager is not None:
            self._manager.connection_lost = lambda exc: None
            self._manager.close()
            self._fail_pending(AmiError(f"{self.name}: closed"))

    def _connection_lost(self, exc: BaseException | None) -> None:
        self.connected = False
        self.lost = exc if isinstance(exc, BaseException) else AmiError(f"{self.name}: connection lost")
        log.warning("%s: AMI connection lost: %r", self.name, exc)
        self._fail_pending(AmiError(f"{self.name}: connection lost"))
        self._changed.set()

    def _fail_pending(self, error: AmiError) -> None:
        self._manager.awaiting_actions.clear()  # panoramisk would send them again after a reconnect
        for future in list(self._pending):
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    def _on_event(self, _manager: Any, message: Any) -> None:
        self.record(to_event(message))

    def record(self, event: AmiEvent) -> None:
        """Add an event to the history (also used for synthetic events such as originate results)."""
        self._seq += 1
        self._history.append((self._seq, event))
        for listener in list(self._listeners):
            listener(event)
        self._changed.set()

    def listen(self, listener: Callable[[AmiEvent], None]) -> Callable[[], None]:
        """Call ``listener`` for every future event; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def mark(self) -> int:
        """A position in the history: ``wait_event(..., since=mark)`` sees only later events."""
        return self._seq

    def events(self, since: int = 0) -> list[AmiEvent]:
        return [event for seq, event in self._history if seq > since]

    async def wait_event(
        self,
        match: Callable[[AmiEvent], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
        since: int = 0,
    ) -> AmiEvent:
        """The first event after ``since`` (already seen or still to come) that ``match`` accepts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = since
        while True:
            for seq, event in list(self._history):
                if seq > seen:
                    seen = seq
                    if match(event):
                        return event
            if self.lost is not None:
                raise AmiError(f"{self.name}: connection lost while waiting")
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no matching event within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def action(self, action: Mapping[str, ActionValue], timeout: float = 10.0) -> list[AmiEvent]:  # noqa: ASYNC109
        """Send one action; its response and any events that belong to it (lists, OriginateResponse).

        Raises ``AmiError`` when Asterisk answers with an error or the link is down.
        """
        if not self.connected or self._manager is None:
            raise AmiError(f"{self.name}: not connected")
        headers: dict[str, Any] = {k: (list(v) if not isinstance(v, str) else v) for k, v in action.items()}
        headers.setdefault("ActionID", f"{self.name}-{next(self._ids)}")
        if str(headers.get("Action", "")).lower() == "originate":
            headers["Async"] = "true"  # panoramisk 1.4 raises KeyError without it
        future = self._manager.send_action(headers)
        self._pending.add(future)
        try:
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise AmiError(f"{self.name}: no reply to {headers['Action']} within {timeout}s") from exc
        finally:
            self._pending.discard(future)
        messages = [to_event(m) for m in (reply if isinstance(reply, list) else [reply])]
        first = messages[0]
        if first.get("Response", "").lower() in ("error", "fail", "failure"):
            raise AmiError(f"{self.name}: {headers['Action']} refused: {first.get('Message', '')}")
        return messages
