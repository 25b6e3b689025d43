"""One agent's live desk through /api/v1: ``GET /agents/{agent}/events``, Server-Sent Events.

The agent desktop page (``/agent``) reads it with ``fetch`` and a stream reader, so the bearer
token travels in the ``Authorization`` header like every other request (EventSource cannot set
headers, and a token in the URL would end up in logs). Who may watch whom is who may act on whom
(``auth.may_act_on``): an agent themselves, a supervisor their queues' agents, an admin everyone;
the refusals (401, 403, 404) are the API's usual JSON errors, answered before the stream starts.
Each ``desk`` event is the agent's whole desk (``acd.desk.view``), with the agent's open consult
only on the agent's own streams (a supervisor or an admin watching them sees the desk without it);
the stream ends when the service stops or its token is revoked, a client that does not keep up is
cut off (``acd.desk.publisher``), and a token holds a bounded number of streams (``acd.http.bearer``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from acd.desk.publisher import DeskPublisher
from acd.http import errors
from acd.http.bearer import Bearers
from acd.http.keys import BEARERS, DESK, ENGINE, LIVE, TOKEN
from acd.http.v1.auth import may_act_on

RETRY_MS = 2000


async def events(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    agent_id = request.match_info["agent"]
    if not may_act_on(request[TOKEN], live.config, agent_id):
        return errors.forbidden(f"this token may not watch agent {agent_id!r}")
    if not live.has_agent(agent_id):
        return errors.no_such_agent(agent_id)
    bearers = request.app[BEARERS]
    with bearers.stream_slot(request[TOKEN]) as admitted:
        if not admitted:
            return errors.too_many_streams(bearers.streams_per_token)
        return await _stream(request, bearers, agent_id)


async def _stream(request: web.Request, bearers: Bearers, agent_id: str) -> web.StreamResponse:
    publisher = request.app[DESK]
    transport = request.transport

    def cut_off() -> None:  # a slow client: close at once, whatever its socket still holds
        if transport is not None:
            transport.abort()

    # Subscribed before the headers go out: a failure to build the first desk is still a JSON 500.
    token = request[TOKEN]
    own = token.role == "agent" and token.agent_id == agent_id  # the consult is shown to the agent alone
    subscriber = publisher.subscribe(agent_id, on_drop=cut_off, own=own)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the stream back
        }
    )
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        async for frame in bearers.frames(request, subscriber.frames):
            if subscriber.dropped:
                break
            await response.write(frame)
    except ConnectionError:  # the client went away, or was cut off for being slow
        return response
    finally:
        publisher.unsubscribe(agent_id, subscriber)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def add_agent_stream(api: web.Application) -> None:
    """Run the stream's publisher with the API (``api`` holds the live view and the engine); the route
    is the table's (``acd.http.v1.routes``)."""
    api[DESK] = DeskPublisher(api[LIVE], api[ENGINE])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[DESK].run(), name="acd-agent-desk")
        yield
        await app[DESK].close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_streams(app: web.Application) -> None:
        await app[DESK].close()

    api.cleanup_ctx.append(lifecycle)
    api.on_shutdown.append(end_streams)
