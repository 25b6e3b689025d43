"""Each watched agent's desk, built from one snapshot per tick and pushed to that agent's streams.

Like the wallboard's publisher (``acd.wallboard.publisher``), and sharing its frames and bounded
subscriber queues: one task builds, nothing is built for an agent nobody watches, and a client that
falls ``queue_limit`` frames behind is cut off at once (its page reconnects and gets the current
desk). Unlike the wallboard every agent sees a different picture, so a desk is pushed only when it
changed (``view.same``), plus a comment line every ``keepalive`` seconds that keeps proxies from
closing a quiet stream and finds stalled clients. The agent's own consult (the colleague they are
consulting before an attended transfer) is on their desk, in every browser they watch it from; a
supervisor or an admin watching the same agent gets the desk without it (``view.without_consult``).
A build follows a handled event within ``min_gap`` seconds (the runtime's ``changed``, read but never
cleared: the wallboard clears it), or a finished customer lookup at once; a tick every ``interval``
seconds catches the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import RoutingConfig
from acd.core.eligibility import queue_matches
from acd.core.states import AgentState
from acd.desk.lookup import CallLookups
from acd.desk.view import (
    WITH_CALL,
    Offered,
    call_json,
    consult_json,
    desk_json,
    offered,
    same,
    without_consult,
)
from acd.live_view import LiveView
from acd.wallboard.publisher import QUEUE_LIMIT, Subscriber, sse_frame

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
MIN_GAP_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keepalive\n\n"


@dataclass
class _Watched:
    """One agent with at least one open stream: their streams and the last desk they were sent, as
    the agent sees it (``desk``, ``frame``) and as others watching them do (``shown``, ``shown_frame``)."""

    subscribers: dict[Subscriber, bool] = field(default_factory=dict)  # -> the agent's own stream
    desk: dict[str, Any] | None = None
    frame: bytes | None = None
    shown: dict[str, Any] | None = None
    shown_frame: bytes | None = None

    def frame_for(self, own: bool) -> bytes | None:
        return self.frame if own else self.shown_frame


class DeskPublisher:
    def __init__(
        self,
        live: LiveView,
        engine: AsyncEngine,
        *,
        interval: float = INTERVAL_SECONDS,
        min_gap: float = MIN_GAP_SECONDS,
        keepalive: float = KEEPALIVE_SECONDS,
        queue_limit: int = QUEUE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._live = live
        self._wake = asyncio.Event()
        self.lookups = CallLookups(engine, self._wake.set)
        self.interval = interval
        self.min_gap = min_gap
        self.keepalive = keepalive
        self.queue_limit = queue_limit
        self._clock = clock
        self._watched: dict[str, _Watched] = {}
        self._offers: dict[tuple[str, str], Offered] = {}  # (call, agent) -> the core's view when it rang them
        self._config: RoutingConfig | None = None
        self._queues: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        self._closed = False
        self._handled = -1  # the runtime's event count at the last build
        self._last_keepalive = clock()
        self.seq = 0
        self.built = 0  # desks built (one per watched agent per build)
        self.dropped = 0  # slow clients cut off

    @property
    def subscribers(self) -> int:
        return sum(len(w.subscribers) for w in self._watched.values())

    def subscribe(self, agent_id: str, on_drop: Callable[[], None] | None = None, *, own: bool = False) -> Subscriber:
        """A new stream for an agent; it gets the agent's desk at once, then every change. ``own``: the
        agent themselves watches (their consult is shown only to them)."""
        subscriber = Subscriber(self.queue_limit, on_drop)
        if self._closed:
            subscriber.frames.put_nowait(None)
            return subscriber
        watched = self._watched.setdefault(agent_id, _Watched())
        watched.subscribers[subscriber] = own
        if watched.frame is None:
            self._build({agent_id: watched})
        subscriber.frames.put_nowait(watched.frame_for(own))  # None: no such agent any more, the stream ends
        return subscriber

    def unsubscribe(self, agent_id: str, subscriber: Subscriber) -> None:
        watched = self._watched.get(agent_id)
        if watched is None:
            return
        watched.subscribers.pop(subscriber, None)
        if not watched.subscribers:
            del self._watched[agent_id]

    def customer_attached(self, call_id: str, customer_id: str) -> None:
        """An agent attached a customer record to the call: show it on every desk that has the call."""
        self.lookups.refresh(call_id, customer_id)

    def _directory(self, config: RoutingConfig) -> None:
        """Each agent's name and queues, worked out once per config."""
        if config is self._config:
            return
        self._config = config
        self._names = {a.id: a.name for a in config.agents}
        self._queues = {
            a.id: sorted(q.name for q in config.queues if queue_matches(dict(a.skills), q)) for a in config.agents
        }

    def _build(self, agents: dict[str, _Watched]) -> list[tuple[_Watched, bytes, bytes | None]]:
        """Build these agents' desks; for those that changed, the agent's own frame and the others'
        (None: unchanged for them)."""
        live = self._live
        now = live.now()
        self._directory(live.config)
        snapshot = live.snapshot(now)
        if any(v.state is AgentState.RESERVED for a in agents if (v := snapshot.agents.get(a)) is not None):
            for ringing in live.queued_calls(now):
                if ringing.agent_id is not None and (ringing.call_id, ringing.agent_id) not in self._offers:
                    self._offers[ringing.call_id, ringing.agent_id] = offered(ringing)
        changed: list[tuple[_Watched, bytes, bytes | None]] = []
        for agent_id, watched in agents.items():
            view = snapshot.agents.get(agent_id)
            if view is None:  # removed from the config: the stream ends
                continue
            call: dict[str, Any] | None = None
            if view.call_id is not None and view.state in WITH_CALL:
                details = self.lookups.get(view.call_id)
                queue = live.call_queue(view.call_id)
                codes = queue.dispositions if queue is not None else ()
                consult = None
                opened = live.consult(view.call_id) if view.state is AgentState.ON_CALL else None
                if opened is not None and opened.agent_id == agent_id:
                    consult = consult_json(
                        opened.target or opened.number, self._names.get(opened.target, ""), opened.started_at
                    )
                offer = self._offers.get((view.call_id, agent_id))
                call = call_json(view.call_id, view.state, offer, details, codes, consult)
            desk = desk_json(view, self._names.get(agent_id, ""), self._queues.get(agent_id, []), now, call)
            self.built += 1
            if same(watched.desk, desk):
                continue
            self.seq += 1
            watched.desk, watched.frame = desk, sse_frame(self.seq, desk, event="desk")
            shown = without_consult(desk)
            shown_frame: bytes | None = None
            if shown is desk:
                shown_frame = watched.frame
            elif not same(watched.shown, shown):
                self.seq += 1
                shown_frame = sse_frame(self.seq, shown, event="desk")
            if shown_frame is not None:
                watched.shown, watched.shown_frame = shown, shown_frame
            changed.append((watched, watched.frame, shown_frame))
        return changed

    def _forget_finished_calls(self) -> None:
        live = {w.desk["call"]["id"] for w in self._watched.values() if w.desk is not None and w.desk["call"]}
        self._offers = {key: o for key, o in self._offers.items() if key[0] in live}
        self.lookups.keep_only(live)

    def publish(self) -> None:
        """Build every watched agent's desk; push those that changed, and the keepalive when due."""
        self._handled = self._live.handled
        if not self._watched:
            self._offers.clear()
            self.lookups.keep_only(())
            return
        for watched, frame, shown_frame in self._build(self._watched):
            self._send([s for s, own in watched.subscribers.items() if own], frame)
            if shown_frame is not None:
                self._send([s for s, own in watched.subscribers.items() if not own], shown_frame)
        self._forget_finished_calls()
        if self._clock() - self._last_keepalive >= self.keepalive:
            self._last_keepalive = self._clock()
            self._send([s for w in self._watched.values() for s in w.subscribers], KEEPALIVE)

    def _send(self, subscribers: list[Subscriber], frame: bytes) -> None:
        for subscriber in subscribers:
            try:
                subscriber.frames.put_nowait(frame)
            except asyncio.QueueFull:
                for watched in self._watched.values():
                    watched.subscribers.pop(subscriber, None)
                self.dropped += 1
                log.warning("agent desk: dropped a client %d frames behind", self.queue_limit)
                subscriber.drop()

    async def run(self) -> None:
        """Build after each change (no sooner than ``min_gap``), after a lookup, and every ``interval``."""
        changed = self._live.changed
        loop = asyncio.get_running_loop()
        while not self._closed:
            self._wake.clear()
            try:
                self.publish()
            except Exception:  # a bug in a desk must not end every agent's stream for good
                log.exception("agent desk: could not build the desks")
            await asyncio.sleep(self.min_gap)
            deadline = loop.time() + max(0.0, self.interval - self.min_gap)
            while self._live.handled == self._handled and not self._wake.is_set():
                left = deadline - loop.time()
                if left <= 0:
                    break
                waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(self._wake.wait())]
                try:
                    await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits:
                        waiting.cancel()
                if changed.is_set() and self._live.handled == self._handled:
                    # set by an event already built from, and not cleared yet by the wallboard
                    await asyncio.sleep(min(self.min_gap, max(0.0, deadline - loop.time())))

    async def close(self) -> None:
        """End every stream (the service stops) and the lookups still running."""
        self._closed = True
        for watched in self._watched.values():
            for subscriber in watched.subscribers:
                try:
                    subscriber.frames.put_nowait(None)
                except asyncio.QueueFull:
                    subscriber.drop()
        self._watched.clear()
        with contextlib.suppress(Exception):
            await self.lookups.close()
