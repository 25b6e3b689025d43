"""The wallboard over HTTP: the page at ``/wallboard`` and its live feed at ``/wallboard/events``.

The feed is Server-Sent Events: the browser's EventSource holds one response open and the ACD
pushes a board down it, so the page never polls. Every stream reads from one ``Publisher`` (one
board per tick for all screens; slow screens are dropped). On shutdown the streams are ended before
aiohttp waits for its handlers, so the service stops at once however many screens are open.
Static files (plain HTML, CSS and JS, no build step) live in ``acd/http/static/``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from acd.runtime import Runtime
from acd.wallboard.board import Board
from acd.wallboard.publisher import Publisher

STATIC = Path(__file__).parent / "static"
PUBLISHER = web.AppKey("wallboard_publisher", Publisher)
RETRY_MS = 2000  # how soon a browser reconnects after the stream ends


def publisher_for(runtime: Runtime) -> Publisher:
    """The wallboard's publisher over the runtime: its snapshot, config and today's counts."""
    board = Board()

    def build() -> object:
        now = runtime.now()
        return board.payload(runtime.core.snapshot(now), runtime.core.config, runtime.today)

    return Publisher(build, changed=runtime.changed)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "wallboard.html", headers={"Cache-Control": "no-cache"})


async def events(request: web.Request) -> web.StreamResponse:
    publisher = request.app[PUBLISHER]
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",  # a reverse proxy must not hold the stream back
    })
    await response.prepare(request)
    transport = request.transport

    def cut_off() -> None:  # a slow client: close at once, whatever its socket still holds
        if transport is not None:
            transport.abort()

    subscriber = publisher.subscribe(on_drop=cut_off)
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        while (frame := await subscriber.frames.get()) is not None and not subscriber.dropped:
            await response.write(frame)
    except ConnectionError:  # the client went away, or was dropped for being slow
        return response
    finally:
        publisher.unsubscribe(subscriber)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def add_wallboard_routes(app: web.Application, runtime: Runtime, publisher: Publisher | None = None) -> None:
    """Register the page, its static files and the event stream; run the publisher with the app.

    ``publisher`` defaults to one over ``runtime`` (tests give their own).
    """
    app[PUBLISHER] = publisher or publisher_for(runtime)

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
    app.router.add_get("/wallboard", page)
    app.router.add_get("/wallboard/events", events)
    app.router.add_static("/wallboard/static", STATIC)
