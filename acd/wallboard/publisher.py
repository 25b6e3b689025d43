"""One board per tick for every screen: the fan-out behind the wallboard's Server-Sent Events.

A wall of 200 screens must cost one snapshot, not 200. A single task builds the board once per tick
(every ``interval`` seconds, and sooner when the runtime says something changed, at most once per
``min_gap``), encodes it once as an SSE frame, and hands the same bytes to every subscriber's queue.
Each queue is bounded: a client that does not keep up (its queue is full) is dropped at once, so a
stalled screen never grows the ACD's memory; its browser reconnects and gets the latest board.
Nothing is built while nobody watches.

A screen may watch a *view*: some queues only (a supervisor's). The board is still built once per
tick; ``narrow`` cuts it to each distinct view once, and every screen of that view gets the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)

QUEUE_LIMIT = 8  # frames a client may lag behind before it is dropped
View = Hashable | None  # what a screen may see (e.g. a frozenset of queue names); None: the whole board
INTERVAL_SECONDS = 1.0
MIN_GAP_SECONDS = 0.25  # a burst of routing events makes at most four boards a second


def sse_frame(seq: int, payload: Any, event: str = "board") -> bytes:
    """One Server-Sent Events message; the JSON has no newline, so one ``data:`` line carries it."""
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return f"id: {seq}\nevent: {event}\ndata: {data}\n\n".encode()


class Subscriber:
    """One connected screen: its bounded queue of frames, and how to cut it off."""

    def __init__(self, limit: int, on_drop: Callable[[], None] | None, view: View = None) -> None:
        # None in the queue means "the stream is over" (the service stops).
        self.frames: asyncio.Queue[bytes | None] = asyncio.Queue(limit)
        self.view = view
        self.dropped = False
        self._on_drop = on_drop

    def drop(self) -> None:
        self.dropped = True
        if self._on_drop is not None:
            self._on_drop()


class Publisher:
    def __init__(
        self,
        build: Callable[[], Any],
        *,
        changed: asyncio.Event | None = None,
        interval: float = INTERVAL_SECONDS,
        min_gap: float = MIN_GAP_SECONDS,
        queue_limit: int = QUEUE_LIMIT,
        narrow: Callable[[Any, View], Any] | None = None,
    ) -> None:
        self._build = build
        self._narrow = narrow
        self._changed = changed
        self.interval = interval
        self.min_gap = min_gap
        self.queue_limit = queue_limit
        self._subscribers: dict[Subscriber, None] = {}  # insertion-ordered set
        self._latest: Any = None  # the last board built, None when stale
        self._frames: dict[View, bytes] = {}  # the last board's frame per view
        self._closed = False
        self.seq = 0
        self.built = 0  # boards built: one per tick, however many clients
        self.dropped = 0  # slow clients cut off

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, on_drop: Callable[[], None] | None = None, view: View = None) -> Subscriber:
        """A new screen; it gets the latest board (of its view) at once, then every board from here on."""
        subscriber = Subscriber(self.queue_limit, on_drop, view)
        if self._closed:
            subscriber.frames.put_nowait(None)
            return subscriber
        self._subscribers[subscriber] = None
        if self._latest is None:
            self._next_board()
        subscriber.frames.put_nowait(self._frame(view))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.pop(subscriber, None)

    def _next_board(self) -> None:
        self.seq += 1
        self.built += 1
        self._latest = self._build()
        self._frames = {}

    def _frame(self, view: View) -> bytes:
        """The latest board as seen from ``view``, encoded once per view."""
        frame = self._frames.get(view)
        if frame is None:
            payload = self._latest if view is None or self._narrow is None else self._narrow(self._latest, view)
            frame = self._frames[view] = sse_frame(self.seq, payload)
        return frame

    def publish(self) -> None:
        """Build one board and hand it to every subscriber; drop those whose queue is full."""
        if not self._subscribers:
            self._latest = None  # stale by the time someone connects
            self._frames = {}
            return
        self._next_board()
        for subscriber in list(self._subscribers):
            try:
                subscriber.frames.put_nowait(self._frame(subscriber.view))
            except asyncio.QueueFull:
                self._subscribers.pop(subscriber, None)
                self.dropped += 1
                log.warning("wallboard: dropped a client %d boards behind", self.queue_limit)
                subscriber.drop()

    async def run(self) -> None:
        """Publish every ``interval`` seconds, and after a change (no sooner than ``min_gap``)."""
        while not self._closed:
            if self._changed is not None:
                self._changed.clear()
            try:
                self.publish()
            except Exception:  # a bug in the board must not end the wallboard for good
                log.exception("wallboard: could not build the board")
            await asyncio.sleep(self.min_gap)
            if self._changed is None:
                await asyncio.sleep(max(0.0, self.interval - self.min_gap))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, self.interval - self.min_gap))

    def close(self) -> None:
        """End every stream (the service stops): each handler gets None and finishes its response."""
        self._closed = True
        for subscriber in list(self._subscribers):
            try:
                subscriber.frames.put_nowait(None)
            except asyncio.QueueFull:
                subscriber.drop()
        self._subscribers.clear()
