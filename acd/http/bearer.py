"""Checking bearer tokens without letting a flood of bad ones reach PostgreSQL, and keeping event
streams honest about the token they were opened with.

A token is checked against ``api_tokens`` (one query). So that bogus but well-formed tokens cannot
turn into a query each:

- a token found not valid is remembered as such for ``miss_seconds`` (a repeat costs no query);
- a client (its IP address) that presents ``failures`` bad tokens within ``window`` seconds is
  answered 429 with ``Retry-After`` until the oldest of them is ``window`` seconds old, without a
  query, whatever token it sends meanwhile.

A request without any token costs nothing and is not counted. Valid tokens are not cached: a
revoked token is refused on its next request.

Event streams (the wallboard's, the agent desk's) hold one response open for hours, so the token
they were opened with is checked again every ``recheck_seconds`` and the stream ends once it is
revoked; and one token holds at most ``streams_per_token`` open streams (429 beyond).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.http import errors
from acd.records.errors import DatabaseUnavailable
from acd.records.stores import tokens
from acd.records.stores.tokens import Token

Verify = Callable[[str], Awaitable[Token | None]]  # a bearer token -> who it speaks for (None: not valid)

MISS_SECONDS = 30.0
FAILURES = 20
WINDOW_SECONDS = 60.0
RECHECK_SECONDS = 15.0
STREAMS_PER_TOKEN = 16
_REMEMBERED = 10_000  # misses and clients kept at most: memory stays bounded whatever a client sends


class Bearers:
    """The one place that turns an ``Authorization`` header into a ``Token`` (or a refusal)."""

    def __init__(
        self,
        verify: Verify,
        *,
        miss_seconds: float = MISS_SECONDS,
        failures: int = FAILURES,
        window: float = WINDOW_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
        streams_per_token: int = STREAMS_PER_TOKEN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verify = verify
        self._miss_seconds = miss_seconds
        self._failures = failures
        self._window = window
        self.recheck_seconds = recheck_seconds
        self.streams_per_token = streams_per_token
        self._clock = clock
        self._misses: OrderedDict[bytes, float] = OrderedDict()  # digest of a bad token -> until when
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()  # client -> times of its failures
        self._streams: Counter[str] = Counter()  # token id -> open streams
        self.lookups = 0  # tokens looked up (in PostgreSQL, for the service: what the caches save)

    @classmethod
    def of(cls, engine: AsyncEngine, **limits: float) -> Bearers:
        async def verify(bearer: str) -> Token | None:
            return await tokens.verify(engine, bearer)

        return cls(verify, **limits)  # type: ignore[arg-type]

    async def authenticate(self, request: web.Request) -> Token | web.Response:
        """The token of the request, or the 401/429/503 that ends it."""
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        bearer = bearer.strip()
        if scheme.lower() != "bearer" or not bearer:
            return errors.unauthorized()
        client = request.remote or "?"
        now = self._clock()
        wait = self._locked_out(client, now)
        if wait is not None:
            return errors.too_many_failures(wait)
        key = hashlib.sha256(bearer.encode(errors="surrogatepass")).digest()
        token = None if self._missed(key, now) else await self._lookup(bearer)
        if token is None:
            self._remember(self._misses, key, now + self._miss_seconds)
            self._fail(client, now)
            return errors.unauthorized("the bearer token is not valid (unknown, malformed or revoked)")
        return token

    async def _lookup(self, bearer: str) -> Token | None:
        self.lookups += 1
        return await self._verify(bearer)

    def _missed(self, key: bytes, now: float) -> bool:
        until = self._misses.get(key)
        if until is None:
            return False
        if until <= now:
            del self._misses[key]
            return False
        return True

    def _locked_out(self, client: str, now: float) -> float | None:
        failures = self._clients.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if len(failures) < self._failures:
            return None
        return failures[0] + self._window - now

    def _fail(self, client: str, now: float) -> None:
        failures = self._clients.get(client)
        if failures is None:
            failures = deque(maxlen=self._failures)
            self._remember(self._clients, client, failures)
        failures.append(now)

    @staticmethod
    def _remember(
        table: OrderedDict[bytes, float] | OrderedDict[str, deque[float]], key: object, value: object
    ) -> None:
        table[key] = value  # type: ignore[index,assignment]
        table.move_to_end(key)  # type: ignore[arg-type]
        while len(table) > _REMEMBERED:
            table.popitem(last=False)

    # -- event streams ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def stream_slot(self, token: Token) -> Iterator[bool]:
        """Yields whether ``token`` may open one more stream; the slot is held until the block ends."""
        if self._streams[token.id] >= self.streams_per_token:
            yield False
            return
        self._streams[token.id] += 1
        try:
            yield True
        finally:
            self._streams[token.id] -= 1
            if not self._streams[token.id]:
                del self._streams[token.id]

    async def still_valid(self, request: web.Request) -> bool:
        """Whether the stream's token is still live (asked of PostgreSQL; kept on when it cannot say)."""
        bearer = request.headers.get("Authorization", "").partition(" ")[2].strip()
        try:
            self.lookups += 1
            return await self._verify(bearer) is not None
        except DatabaseUnavailable:
            return True

    async def frames(self, request: web.Request, queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
        """The frames of a stream's queue until it ends (None) or its token is revoked."""
        due = self._clock() + self.recheck_seconds
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), max(0.0, due - self._clock()))
            except TimeoutError:
                if not await self.still_valid(request):
                    return
                due = self._clock() + self.recheck_seconds
                continue
            if frame is None:
                return
            yield frame
