"""AmiLink: the ACD's one connection to Asterisk's manager interface.

It gives the runtime three things: one ordered stream of everything that happened (events, plus
``LinkUp``/``LinkDown`` markers so the runtime resyncs after every (re)connect), request/response
actions with timeouts and typed errors, and a connection that heals itself.

It is built on panoramisk's ``Manager`` (connect, Login, ActionIDs, reply futures), with its traps
shut in ``acd.ami.session``: no action pending at a disconnect is ever sent again, Ping replies are
checked by the watchdog below, reconnects are ours (with backoff and jitter), every action has a
deadline, Originate always carries ``Async``, and events keep their wire order.

The event queue is unbounded on purpose: pausing the socket when the consumer lags would also
hold back the Pong behind the backlog, and the watchdog would then kill a healthy link. An ACD's
event rate is far below what the consumer handles (see bench/bench_ami.py); the queue depth is
worth exporting as a metric (``link.backlog``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from acd.ami.errors import AmiActionError, AmiDisconnected, AmiError, AmiTimeout
from acd.ami.session import AmiManager, AmiSession, LinkCounters
from acd.ami.settings import LinkSettings
from acd.ami.wire import ActionValue, Message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Logged in. Everything after this marker is news from this connection: resync now."""

    generation: int
    banner: str = ""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The connection ``generation`` ended; events may be missing until the next ``LinkUp``."""

    generation: int
    reason: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Work the reader began on a message inside the read (``AmiLink.direct``) and finishes in its own
    task, in its turn: everything read after it waits behind it."""

    work: Callable[[], Awaitable[None]]


LinkItem = Message | LinkUp | LinkDown | Resume


class _Closed:
    """Queue sentinel: the link was closed and the stream ends."""


class AmiLink:
    """One logical AMI connection that survives reconnects. Build once; ``start``; ``close``."""

    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self.counters = LinkCounters()
        self._queue: asyncio.Queue[LinkItem | _Closed] = asyncio.Queue()
        self._session: AmiSession | None = None
        self._manager: AmiManager | None = None
        self._generation = 0
        self._runner: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._closing = False
        # The reader's way to take an event inside the read itself, while it waits on an empty queue
        # (the AMI pump: no hop through the queue and a loop turn before the ring is decided). It must
        # not await; what it cannot finish it hands back with ``resume``, so the order holds.
        self.direct: Callable[[Message], None] | None = None
        self._waiting = False  # the reader is parked on the empty queue

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Begin connecting in the background; the first ``LinkUp`` says when it worked."""
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="ami-link")

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError:
            raise AmiTimeout(f"not connected within {timeout} s") from None

    @property
    def backlog(self) -> int:
        """Items queued and not yet consumed."""
        return self._queue.qsize()

    @property
    def in_flight(self) -> int:
        """Actions written and not yet answered (a planned handover waits for them: docs/standby.md)."""
        session = self._session
        return 0 if session is None else len(getattr(session, "responses", {}))

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.logged_in

    async def close(self) -> None:
        """Log off, stop reconnecting, end the event stream. Pending actions fail."""
        self._closing = True
        session = self._session
        if session is not None and session.logged_in:
            with contextlib.suppress(AmiError):
                await session.request({"Action": "Logoff"}, timeout=1.0)
        if session is not None:
            session.abort("link closed")
        if self._manager is not None:
            self._manager.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._queue.put_nowait(_Closed())

    # -- the stream --------------------------------------------------------------------------
    async def next_event(self) -> LinkItem:
        """The next event or marker. Raises ``AmiDisconnected`` once the link is closed."""
        self._waiting = True
        try:
            item = await self._queue.get()
        finally:
            self._waiting = False
        if isinstance(item, _Closed):
            self._queue.put_nowait(item)  # every later reader sees the end too
            raise AmiDisconnected("link closed")
        return item

    async def events(self) -> AsyncIterator[LinkItem]:
        """``async for item in link.events()``: arrival order; ends when the link is closed."""
        while True:
            try:
                yield await self.next_event()
            except AmiDisconnected:
                return

    # -- actions -----------------------------------------------------------------------------
    # The ``timeout`` parameters below are deliberate (ASYNC109): expiry must drop the pending
    # ActionID and surface as ``AmiTimeout``, which a caller-side ``asyncio.timeout`` cannot do.
    async def send(
        self,
        action: Mapping[str, ActionValue],
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Message:
        """Send one action and return its reply headers.

        Adds a fresh ActionID; forces ``Async: true`` on Originate (a synchronous Originate blocks
        its reply for the whole ring time). Raises ``AmiActionError`` for ``Response: Error``,
        ``AmiTimeout``, or ``AmiDisconnected``; an action is never resent after a reconnect.
        """
        result = await self._request(_prepare(action), timeout)
        assert isinstance(result, dict)
        return result

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        """Write the action now; return the wait for its reply (as ``send``), which must be awaited.

        Raises ``AmiDisconnected`` at once when there is no session. Actions written by successive
        calls reach Asterisk in that order, and Asterisk runs one session's actions in order.
        """
        session = self._session
        if session is None or not session.logged_in:
            raise AmiDisconnected(f"{action.get('Action', '?')}: not connected")
        wait = self.settings.action_timeout if timeout is None else timeout
        return _one(session.submit(_prepare(action), wait))

    async def send_list(
        self,
        action: Mapping[str, ActionValue],
        complete_event: str,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[Message]:
        """Send a list action (CoreShowChannels, PJSIPShowContacts…) and collect its events.

        Returns the item events, without the ``complete_event`` that closes the list. The whole
        list must arrive within ``timeout``; list events never reach the ``events()`` stream.
        """
        result = await self._request(_prepare(action), timeout, complete_event=complete_event)
        assert isinstance(result, list)
        return result

    async def _request(
        self,
        action: Mapping[str, ActionValue],
        timeout: float | None,  # noqa: ASYNC109
        complete_event: str | None = None,
    ) -> Message | list[Message]:
        session = self._session
        if session is None or not session.logged_in:
            raise AmiDisconnected(f"{action.get('Action', '?')}: not connected")
        wait = self.settings.action_timeout if timeout is None else timeout
        return await session.request(action, wait, as_list=complete_event is not None)

    # -- connection loop ---------------------------------------------------------------------
    async def _run(self) -> None:
        s = self.settings
        delay = s.backoff_initial
        loop = asyncio.get_running_loop()
        while not self._closing:
            started = loop.time()
            try:
                reason = await self._connect_once()
            except Exception as exc:  # a bug must not end reconnecting for the process's life
                log.exception("AMI connection attempt crashed")
                reason = f"internal error: {exc!r}"
            if self._closing:
                return
            if loop.time() - started >= s.stable_after:
                delay = s.backoff_initial
            pause = delay * (1 - s.backoff_jitter * random.random())
            log.warning("AMI link down (%s); reconnecting in %.2f s", reason, pause)
            await asyncio.sleep(pause)
            delay = min(delay * 2, s.backoff_max)

    async def _connect_once(self) -> str:
        s = self.settings
        if self._manager is None:
            self._manager = AmiManager(
                self._new_session,
                host=s.host,
                port=s.port,
                username=s.username,
                secret=s.secret,
                events=s.events,
                loop=asyncio.get_running_loop(),
            )
        manager = self._manager
        connecting = manager.connect()
        try:
            _, session = await asyncio.wait_for(asyncio.shield(connecting), s.connect_timeout)
        except (OSError, TimeoutError) as exc:
            connecting.cancel()
            return f"connect to {s.host}:{s.port} failed: {exc or 'timeout'}"
        self._session = session
        watchdog: asyncio.Task[None] | None = None
        try:
            # panoramisk drops its login future once the reply is in: a PBX that answers Login
            # before this coroutine resumes leaves None here, and the session says how it went.
            pending = manager.authenticated_future
            if pending is None:
                reply = {"Response": "Success" if session.logged_in else "Error", "Message": "login refused"}
            else:
                login = cast("asyncio.Future[Any]", pending)
                reply = await asyncio.wait_for(asyncio.shield(login), s.login_timeout)
            if reply.get("Response") != "Success":
                session.abort(f"login refused: {reply.get('Message', '')}")
            else:
                watchdog = asyncio.get_running_loop().create_task(self._watchdog(session), name="ami-ping")
        except TimeoutError:
            session.abort(f"login failed: no reply within {s.login_timeout:g} s")
        except AmiError as exc:
            session.abort(f"login failed: {exc}")
        try:
            return await asyncio.shield(session.ended)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._session = None

    def _new_session(self) -> AmiSession:
        return AmiSession(self.counters, self._on_event, self._logged_in, self._on_lost)

    def _logged_in(self, session: AmiSession) -> None:
        # Runs inside data_received, before any event that follows the Login reply is handed
        # on, so LinkUp precedes every event of the new connection in the queue.
        session.logged_in = True
        self._session = session  # LinkUp's consumer may send at once, before _connect_once resumes
        self._generation += 1
        self.counters.connects += 1
        if self._generation > 1:
            self.counters.reconnects += 1
        self._up.set()
        self._queue.put_nowait(LinkUp(self._generation, session.banner))
        log.info("AMI link up (generation %d, %s)", self._generation, session.banner or "no banner")

    def again(self) -> None:
        """Tell the reader the current connection is up once more (a ``LinkUp`` of the same generation):
        it does again what it does on a connect (a PBX whose ``SystemName`` could not be read, now can)."""
        if self._session is not None and self._session.logged_in:
            self._queue.put_nowait(LinkUp(self._generation, self._session.banner))

    def resume(self, work: Callable[[], Awaitable[None]]) -> None:
        """For ``direct``: the rest of a message's work, done by the reader's task before anything later."""
        self._queue.put_nowait(Resume(work))

    def _on_event(self, msg: Message) -> None:
        self.counters.events_received += 1
        direct = self.direct
        if direct is not None and self._waiting and self._queue.empty():
            # nothing is queued or under way ahead of it: taking it here keeps the arrival order
            try:
                direct(msg)
            except Exception:  # the reader's bug must not take the connection down with it
                log.exception("AMI event %s: the reader failed on it", msg.get("Event", "?"))
            return
        self._queue.put_nowait(msg)

    def _on_lost(self, reason: str) -> None:
        session = self._session
        if self._up.is_set() and session is not None:
            self._up.clear()
            self._queue.put_nowait(LinkDown(self._generation, reason))

    async def _watchdog(self, session: AmiSession) -> None:
        """Ping every ``ping_interval``; no Pong within ``ping_timeout`` means half-open: drop it."""
        s = self.settings
        while True:
            await asyncio.sleep(s.ping_interval)
            try:
                await session.request({"Action": "Ping"}, s.ping_timeout)
            except AmiTimeout:
                self.counters.ping_timeouts += 1
                session.abort(f"no Pong within {s.ping_timeout:g} s")
                return
            except AmiDisconnected:
                return
            except AmiActionError as exc:
                log.warning("AMI Ping refused: %s", exc)


def _prepare(action: Mapping[str, ActionValue]) -> dict[str, ActionValue]:
    out = {k: v for k, v in action.items() if k.lower() not in ("actionid", "async")}
    if str(action.get("Action", "")).lower() == "originate":
        out["Async"] = "true"
    else:
        out.update({k: v for k, v in action.items() if k.lower() == "async"})
    return out


async def _one(reply: Awaitable[Message | list[Message]]) -> Message:
    result = await reply
    assert isinstance(result, dict)
    return result
