"""The wallboard over HTTP: the page at ``/wallboard`` and its live feed at ``/wallboard/events``.

The feed is Server-Sent Events: the browser's EventSource holds one response open and the ACD
pushes a board down it, so the page never polls. Every stream reads from one ``Publisher`` (one
board per tick for all screens; slow screens are dropped). On shutdown the streams are ended before
aiohttp waits for its handlers, so the service stops at once however many screens are open.
Static files (plain HTML, CSS and JS, no build step) live in ``acd/http/static/``.

The stream needs a bearer token of the REST API (``acd tokens add``). A wall screen takes a
``wallboard`` token: read-only, it may read this stream and ``GET /api/v1/status`` and nothing else,
so the token a screen keeps cannot change anything (its queues narrow the board; none: every queue).
A supervisor's token shows their queues, an admin's everything; an agent's token is refused (403: the
board is a supervision surface, and an agent has their desk). A wall display cannot type a header,
so the page asks for the token once, keeps it in the browser's localStorage and sends it as
``Authorization: Bearer`` with ``fetch()``; EventSource cannot set headers, and a token in a URL
would end up in logs and histories. The page itself and its static files hold no data and stay open.
The stream ends when its token is revoked, and a token holds a bounded number of streams
(``acd.http.bearer``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.http import errors
from acd.http.bearer import Bearers, Verify
from acd.http.boundary import page_headers
from acd.http.keys import BEARERS, PUBLISHER, ROUTES
from acd.http.roles import PUBLIC, WALLBOARD, Route, RouteTable
from acd.live_view import LiveView
from acd.metrics import ObjectiveSeries
from acd.records.errors import DatabaseUnavailable
from acd.records.stores.tokens import Token
from acd.runtime import Runtime
from acd.wallboard.board import Board
from acd.wallboard.publisher import Publisher

STATIC = Path(__file__).parent / "static"
RETRY_MS = 2000  # how soon a browser reconnects after the stream ends


def require_tokens(app: web.Application, check: Bearers | Verify | AsyncEngine) -> None:
    """Check the stream's bearer tokens with ``check``, or against the ``api_tokens`` of an engine."""
    if isinstance(check, Bearers):
        app[BEARERS] = check
    elif isinstance(check, AsyncEngine):
        app[BEARERS] = Bearers.of(check)
    else:
        app[BEARERS] = Bearers(check)


def publisher_for(live: LiveView, objectives: ObjectiveSeries | None = None) -> Publisher:
    """The wallboard's publisher over the live state: its snapshot, config and today's counts, and the
    objectives' latest figures (``objectives``: the ``acd_objective_*`` series)."""
    board = Board()

    def build() -> object:
        now = live.now()
        figures = objectives.figures if objectives is not None else None
        return board.payload(live.snapshot(now), live.config, live.today, figures)

    def narrow(payload: Any, view: object) -> Any:
        return board.narrow(payload, view) if isinstance(view, frozenset) else payload

    return Publisher(build, changed=live.changed, narrow=narrow)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html", headers=page_headers())


def board_view(token: Token) -> frozenset[str] | None:
    """The queues a token's board shows (None: every queue); as ``auth.visible_queues``."""
    if token.role == "admin" or (token.role == "wallboard" and not token.queues):
        return None
    return frozenset(token.queues)


async def _token(request: web.Request) -> Token | web.Response:
    """Who the stream is for, or the 401/403/429/503 that ends the request."""
    bearers = request.app.get(BEARERS)
    if bearers is None:
        return errors.error(503, "tokens-unavailable", "the wallboard cannot check tokens yet")
    try:
        token = await bearers.authenticate(request)
    except DatabaseUnavailable:
        return errors.database_unavailable()
    if isinstance(token, web.Response):
        return token
    beyond = request.app[ROUTES].refusal(request, token.role)
    if beyond is not None:
        return errors.forbidden(beyond)
    return token


async def events(request: web.Request) -> web.StreamResponse:
    token = await _token(request)
    if isinstance(token, web.Response):
        return token
    bearers = request.app[BEARERS]
    with bearers.stream_slot(token) as admitted:
        if not admitted:
            return errors.too_many_streams(bearers.streams_per_token)
        return await _stream(request, bearers, board_view(token))


async def _stream(request: web.Request, bearers: Bearers, view: frozenset[str] | None) -> web.StreamResponse:
    publisher = request.app[PUBLISHER]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the stream back
        }
    )
    await response.prepare(request)
    transport = request.transport

    def cut_off() -> None:  # a slow client: close at once, whatever its socket still holds
        if transport is not None:
            transport.abort()

    subscriber = publisher.subscribe(on_drop=cut_off, view=view)
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        async for frame in bearers.frames(request, subscriber.frames):
            if subscriber.dropped:
                break
            await response.write(frame)
    except ConnectionError:  # the client went away, or was dropped for being slow
        return response
    finally:
        publisher.unsubscribe(subscriber)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


# The wallboard's rows of the site's route table (``acd.http.app``): an agent has their desk instead.
ROWS: tuple[Route, ...] = (
    Route("GET", "/wallboard", page, PUBLIC),
    Route("GET", "/wallboard/static", None, PUBLIC, static=STATIC),
    Route(
        "GET",
        "/wallboard/events",
        events,
        frozenset({"admin", "supervisor", WALLBOARD}),
        "the wallboard is for wall screens, supervisors and admins",
    ),
)


def run_wallboard(
    app: web.Application,
    live: LiveView,
    publisher: Publisher | None = None,
    check: Bearers | Verify | AsyncEngine | None = None,
    objectives: ObjectiveSeries | None = None,
) -> None:
    """Run the wallboard's publisher with the app (its routes are the app's table's, ``ROUTES``).

    ``publisher`` defaults to one over the live state (tests give their own). Tokens are checked with
    ``check``, which may also be given later with ``require_tokens`` (``acd.http.site`` does, with the
    API's tokens); until then the stream answers 503.
    """
    app[PUBLISHER] = publisher or publisher_for(live, objectives)
    if check is not None:
        require_tokens(app, check)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[PUBLISHER].run(), name="acd-wallboard")
        yield
        app[PUBLISHER].close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_streams(app: web.Application) -> None:
        app[PUBLISHER].close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(end_streams)


def add_wallboard_routes(
    app: web.Application,
    runtime: Runtime,
    publisher: Publisher | None = None,
    check: Bearers | Verify | AsyncEngine | None = None,
    objectives: ObjectiveSeries | None = None,
) -> None:
    """The wallboard alone on an app of its own: its routes mounted and its publisher run."""
    RouteTable(ROWS).mount(app)
    run_wallboard(app, LiveView(runtime), publisher, check)
